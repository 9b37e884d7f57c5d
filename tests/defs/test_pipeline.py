"""The five assets materialized through Dagster (a real instance under a temporary DAGSTER_HOME,
the real MiniLM, a real embedded Qdrant), the way `osmose ingest` runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from pptx import Presentation

from osmose_dagster.cli.runner import get_instance, materialize_documents, remove_documents
from osmose_dagster.core.inbox.files import add_to_inbox
from osmose_dagster.core.index.store import open_index
from osmose_dagster.core.model.embed import forget_recent_vectors
from osmose_dagster.core.ops.dagster_names import SPLIT_FROM_TAG
from osmose_dagster.core.settings import Settings
from osmose_dagster.definitions import build_definitions
from tests.support.indexing import write_deck

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

FIVE_ASSETS = {"raw_documents", "extracted_slides", "topic_segments", "embeddings", "qdrant_index"}


def _env(home: Path) -> dict[str, str]:
    return {"OSMOSE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "OSMOSE_DEVICE": "cpu"}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, sample_decks):
    """The four sample decks ingested once for the read-only tests of this module, one run per
    deck (OSMOSE_DECKS_PER_RUN=1: what the UI shows for a run of one deck)."""
    home = tmp_path_factory.mktemp("ingested")
    forget_recent_vectors()  # as in a fresh run process: nothing embedded by earlier tests
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**_env(home), "OSMOSE_DECKS_PER_RUN": "1"}.items():
            patch.setenv(name, value)
        settings = Settings.from_env()
        keys = [add_to_inbox(settings.inbox, path) for path in sample_decks.values()]
        outcomes = materialize_documents(keys, settings)
        yield settings, {outcome.document: outcome for outcome in outcomes}


def _index(settings: Settings):
    resources = build_definitions(settings).resources
    return open_index(resources["qdrant"].location())


def _search(settings: Settings, query: str, limit: int = 3):
    from osmose_dagster.core.model.embed import load_embedder

    vector = load_embedder(settings.model, "cpu", 64).embed_queries([query])[0]
    with _index(settings) as index:
        return index.search(vector, limit)


def test_every_deck_materializes_all_five_assets_and_passes_its_checks(ingested):
    settings, outcomes = ingested
    assert len(outcomes) == 4
    instance = get_instance(settings)
    for outcome in outcomes.values():
        assert outcome.success, outcome.error
        assert set(outcome.metadata) == FIVE_ASSETS
        assert outcome.checks == {"vectors_are_valid": True, "points_match_chunks": True}
        run = instance.get_run_by_id(outcome.run_id)
        assert run.status.value == "SUCCESS"
        assert run.tags["dagster/partition"] == outcome.document
        slides = len(Presentation(settings.inbox / outcome.document).slides)
        assert outcome.metadata["extracted_slides"]["slides"] == slides
        assert (
            outcome.metadata["qdrant_index"]["points"] == outcome.metadata["embeddings"]["vectors"]
        )


def test_many_decks_share_one_run_with_each_decks_own_figures_and_a_bad_one_fails_alone(
    ingested, tmp_path, monkeypatch, sample_decks
):
    _, alone = ingested
    home = tmp_path / "batch"
    for name, value in _env(home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OSMOSE_DECKS_PER_RUN")  # the default: the whole call in one batch
    settings = Settings.from_env()
    broken = tmp_path / "broken deck.pptx"
    broken.write_bytes(os.urandom(4096))
    keys = [add_to_inbox(settings.inbox, path) for path in [*sample_decks.values(), broken]]
    outcomes = {o.document: o for o in materialize_documents(keys, settings)}

    bad = outcomes.pop("broken deck.pptx")
    assert not bad.success and "not a PowerPoint presentation" in bad.error
    assert len({o.run_id for o in outcomes.values()}) == 1  # the good decks: one run
    instance = get_instance(settings)
    good_run = instance.get_run_by_id(next(iter(outcomes.values())).run_id)
    assert good_run.status.value == "SUCCESS" and good_run.tags[SPLIT_FROM_TAG] == bad.run_id
    assert instance.get_run_by_id(bad.run_id).status.value == "FAILURE"  # the whole batch's
    for key, outcome in outcomes.items():
        assert outcome.success, outcome.error
        assert outcome.checks == {"vectors_are_valid": True, "points_match_chunks": True}
        for asset, figure in [
            ("extracted_slides", "slides"),
            ("extracted_slides", "characters"),
            ("topic_segments", "segments"),
            ("embeddings", "vectors"),
            ("qdrant_index", "points"),
        ]:
            assert outcome.metadata[asset][figure] == alone[key].metadata[asset][figure], figure
    with _index(settings) as index:
        assert index.count() == sum(o.metadata["qdrant_index"]["points"] for o in outcomes.values())


def test_ui_metadata_shows_segments_model_and_timing(ingested):
    _, outcomes = ingested
    outcome = outcomes["ml_platform_onboarding_en.pptx"]
    table = outcome.metadata["topic_segments"]["segment_table"]
    assert table.count("\n") == outcome.metadata["topic_segments"]["segments"] + 1  # header rows
    assert "GPU" in table
    embedded = outcome.metadata["embeddings"]
    assert embedded["model"] == "all-MiniLM-L6-v2"
    assert embedded["dimension"] == 384
    # The encoding happens while segmenting: its figures are there, not on `embeddings`.
    segmented = outcome.metadata["topic_segments"]
    assert segmented["model"] == "all-MiniLM-L6-v2" and segmented["device"] == "cpu"
    slides = outcome.metadata["extracted_slides"]["slides"]
    assert 0 < segmented["texts_encoded"] <= slides and segmented["encoding_seconds"] > 0
    assert segmented["texts_per_second"] > 0 and segmented["batch_size"] == 64
    assert segmented["peak_memory_mib"] > 100  # on the CPU: the run process's peak RSS
    assert not {"texts_per_second", "embedding_seconds", "batch_size", "device"} & set(embedded)
    assert outcome.metadata["extracted_slides"]["characters"] > 1000


def test_no_slide_is_embedded_a_second_time(ingested):
    _, outcomes = ingested
    for outcome in outcomes.values():
        segmented, embedded = outcome.metadata["topic_segments"], outcome.metadata["embeddings"]
        assert 0 < segmented["texts_encoded"] <= outcome.metadata["extracted_slides"]["slides"]
        # Chunk vectors come from the slide vectors segmentation computed in the same run.
        assert embedded["long_slide_pieces_encoded"] == 0
        assert embedded["slide_vectors_pooled"] >= embedded["vectors"] > 0


def test_each_run_leaves_a_prometheus_textfile_with_its_figures(ingested):
    settings, _ = ingested
    text = (settings.metrics_dir / "osmose_embedding_cpu.prom").read_text()
    labels = '{device="cpu",device_name="CPU",model="all-MiniLM-L6-v2"}'
    values = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            name, value = line.split(" ")
            assert name.endswith(labels), line
            values[name.removesuffix(labels)] = float(value)
    assert values["osmose_embedding_texts_per_second"] > 0
    assert values["osmose_embedding_texts"] >= 1
    assert values["osmose_embedding_peak_memory_bytes"] > 100 * 2**20
    assert "# TYPE osmose_embedding_texts_per_second gauge" in text


@pytest.mark.parametrize(
    "query, deck",
    [
        ("How much GPU quota does each team get?", "ml_platform_onboarding_en.pptx"),
        ("Why are customers churning?", "quarterly_review_en.pptx"),
        ("Ausschussquote in der Fertigung", "produktion_qualitaet_de.pptx"),
        ("maintenance des éoliennes", "energie_renouvelable_fr.pptx"),
    ],
)
def test_search_ranks_the_deck_about_the_query_first(ingested, query, deck):
    settings, _ = ingested
    hits = _search(settings, query)
    assert hits[0].document == deck, [(h.document, round(h.score, 3)) for h in hits]
    assert 1 <= hits[0].first_slide <= hits[0].last_slide


def test_asset_values_are_files_a_person_can_open(ingested):
    settings, _outcomes = ingested
    key = "quarterly_review_en.pptx"
    slides = json.loads((settings.asset_storage / "extracted_slides" / f"{key}.json").read_text())
    assert slides["slides"][0]["number"] == 1
    segments = json.loads((settings.asset_storage / "topic_segments" / f"{key}.json").read_text())
    vectors = np.load(settings.asset_storage / "embeddings" / f"{key}.npy")
    assert vectors.shape == (len(segments["chunks"]), 384)


def test_reingesting_an_unchanged_deck_changes_nothing(ingested):
    settings, _outcomes = ingested
    key = "produktion_qualitaet_de.pptx"
    with _index(settings) as index:
        before = index.point_ids(key)
    (again,) = materialize_documents([key], settings)
    assert again.success
    written = again.metadata["qdrant_index"]
    assert (written["points_written"], written["points_removed"]) == (0, 0)
    with _index(settings) as index:
        assert index.point_ids(key) == before


def test_changed_deck_replaces_its_points_and_removal_deletes_them(
    osmose_home, tmp_path, sample_decks
):
    settings = Settings.from_env()
    other = add_to_inbox(settings.inbox, sample_decks["quarterly_review_en.pptx"])
    deck = write_deck(
        tmp_path / "roadmap.pptx",
        [("Volcano monitoring", "Seismometers record tremors under the Etna crater every second.")],
    )
    key = add_to_inbox(settings.inbox, deck)
    assert all(o.success for o in materialize_documents([other, key], settings))
    with _index(settings) as index:
        old_ids = index.point_ids(key)
        other_ids = index.point_ids(other)

    write_deck(deck, [("Sourdough baking", "Feed the starter with rye flour twelve hours before.")])
    add_to_inbox(settings.inbox, deck)
    (changed,) = materialize_documents([key], settings)
    assert changed.success
    with _index(settings) as index:
        new_ids = index.point_ids(key)
        assert new_ids and not (new_ids & old_ids)
        assert index.point_ids(other) == other_ids
    assert changed.metadata["qdrant_index"]["points_removed"] == len(old_ids)
    hits = [h for h in _search(settings, "volcano seismometer tremors", 10) if h.document == key]
    assert hits and all("Volcano" not in h.text for h in hits)

    assert remove_documents([key], settings) == {key: len(new_ids)}
    with _index(settings) as index:
        assert index.point_ids(key) == set()
        assert index.point_ids(other) == other_ids
    instance = get_instance(settings)
    assert not instance.has_dynamic_partition("documents", key)
    assert not (settings.inbox / key).exists()


def test_a_bad_deck_fails_only_its_own_run_and_loses_nothing(osmose_home, tmp_path, sample_decks):
    settings = Settings.from_env()
    good = add_to_inbox(settings.inbox, sample_decks["ml_platform_onboarding_en.pptx"])
    assert materialize_documents([good], settings)[0].success
    with _index(settings) as index:
        before = index.point_ids(good)

    broken = tmp_path / "broken deck.pptx"
    broken.write_bytes(os.urandom(4096))
    bad = add_to_inbox(settings.inbox, broken)
    outcomes = {o.document: o for o in materialize_documents([bad, good], settings)}
    assert outcomes[good].success
    assert not outcomes[bad].success
    assert "broken deck.pptx" in outcomes[bad].error
    assert "not a PowerPoint presentation" in outcomes[bad].error
    with _index(settings) as index:
        assert index.point_ids(good) == before
        assert index.point_ids(bad) == set()


def test_removing_a_linked_document_removes_the_link_not_the_deck_it_points_to(
    osmose_home, sample_decks
):
    settings = Settings.from_env()
    kept = settings.inbox / "archive" / "deck.pptx"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(sample_decks["quarterly_review_en.pptx"].read_bytes())
    (settings.inbox / "latest.pptx").symlink_to(kept)

    remove_documents(["latest.pptx"], settings)

    assert not (settings.inbox / "latest.pptx").is_symlink()
    assert kept.read_bytes() == sample_decks["quarterly_review_en.pptx"].read_bytes()
