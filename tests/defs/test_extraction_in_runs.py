"""What extraction keeps, through real runs (a real instance, the real MiniLM, a real embedded
Qdrant, the real Tesseract): a chart that cannot be read costs only itself, named in the run log
and counted in the UI metadata; comments, chart values and the words of pictures are searchable;
the UI metadata counts the pictures read and skipped; `osmose extract` prints exactly the text
the run indexed."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from pptx import Presentation
from pydantic import TypeAdapter

from osmose_dagster.cli.runner import get_instance, materialize_documents
from osmose_dagster.core.inbox.files import add_to_inbox
from osmose_dagster.core.index.store import index_location, open_index
from osmose_dagster.core.model.embed import forget_recent_vectors, load_embedder
from osmose_dagster.core.records import ExtractedDeck
from osmose_dagster.core.settings import Settings
from tests.support.extraction_decks import TITLE_ONLY, category_chart
from tests.support.paths import CORPUS, REPO_ROOT, subprocess_env
from tests.support.pictures import KINDS, PictureSlide, encoded, write_picture_deck

pytestmark = pytest.mark.slow

COMMENTS_DECK = CORPUS / "docling-project__docling__powerpoint_comments.pptx"
CHARTS_DECK = CORPUS / "scanny__python-pptx__cht-chart-type.pptx"


def _broken_chart_deck(path: Path) -> Path:
    """A slide with a title and a chart whose part is cut in the middle of its XML."""
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Quarterly revenue despite a broken chart"
    category_chart(slide, "Revenue by quarter")
    prs.save(path)
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            cut = info.filename == "ppt/charts/chart1.xml"
            target.writestr(info, data[:200] if cut else data)
    return path


def _picture_deck(path: Path) -> Path:
    """A screenshot with words on slide 2, and an icon and a truncated picture on slide 3."""
    from PIL import Image

    screenshot = KINDS["screenshot_grid"](["Zanzibar warehouse latency", "Kestrel invoice"], 0)
    icon = encoded(Image.new("RGB", (20, 20), (200, 30, 30)))
    truncated = KINDS["dark_on_light_24px"](["never read"], 0)[:80]
    return write_picture_deck(
        path,
        [
            PictureSlide("Operations", [], body="Weekly operations review"),
            PictureSlide("Dashboard", [screenshot]),
            PictureSlide("Odds and ends", [icon, truncated]),
        ],
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, sample_decks):
    home = tmp_path_factory.mktemp("extraction-runs")
    decks = [
        _broken_chart_deck(home.parent / "broken_chart.pptx"),
        _picture_deck(home.parent / "pictures.pptx"),
        COMMENTS_DECK,
        CHARTS_DECK,
        sample_decks["ml_platform_onboarding_en.pptx"],
    ]
    forget_recent_vectors()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSMOSE_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.setenv("OSMOSE_DEVICE", "cpu")
        settings = Settings.from_env()
        keys = [add_to_inbox(settings.inbox, deck) for deck in decks]
        outcomes = {o.document: o for o in materialize_documents(keys, settings)}
        yield settings, outcomes


def _succeeded(outcomes, document: str):
    """The document's outcome, once it is known to have succeeded, and its extraction figures."""
    outcome = outcomes[document]
    assert outcome.success, outcome.error
    return outcome, outcome.metadata["extracted_slides"]


def test_an_unreadable_chart_costs_only_itself_and_is_named_in_the_run_log(ingested):
    settings, outcomes = ingested
    outcome, extracted = _succeeded(outcomes, "broken_chart.pptx")
    assert extracted["slides"] == 1 and extracted["parts_skipped"] == 1
    assert extracted["charts"] == 0
    assert outcome.metadata["qdrant_index"]["points"] >= 1
    warnings = [
        entry.user_message
        for entry in get_instance(settings).all_logs(outcome.run_id)
        if entry.level >= 30 and "skipped" in entry.user_message
    ]
    assert len(warnings) == 1
    assert "broken_chart.pptx: slide 1: Chart" in warnings[0]
    assert "XMLSyntaxError" in warnings[0]


def test_the_ui_metadata_counts_comments_and_charts(ingested):
    _, outcomes = ingested
    comments = outcomes[COMMENTS_DECK.name].metadata["extracted_slides"]
    assert comments["comments"] == 4 and comments["parts_skipped"] == 0  # 2 on slide 1, 2 on 3
    charts = outcomes[CHARTS_DECK.name].metadata["extracted_slides"]
    assert charts["charts"] == 31 and charts["parts_skipped"] == 0


def test_the_ui_metadata_counts_pictures_read_and_skipped(ingested):
    settings, outcomes = ingested
    _, extracted = _succeeded(outcomes, "pictures.pptx")
    assert extracted["pictures_read"] == 1 and extracted["pictures_from_cache"] == 0
    assert extracted["pictures_skipped_too_small"] == 1
    assert extracted["pictures_skipped_unreadable"] == 1
    assert extracted["pictures_skipped"] == 2 and extracted["parts_skipped"] == 0
    assert extracted["ocr_seconds"] > 0 and extracted["ocr_words"] >= 5
    assert extracted["ocr"] == settings.ocr.describe() == "on (fra+deu+eng)"


def test_the_words_of_a_picture_are_found_on_its_slide(ingested):
    settings, _ = ingested
    hits = _hits(settings, "Zanzibar warehouse latency Kestrel invoice", 3)
    assert hits[0].document == "pictures.pptx"
    assert hits[0].first_slide <= 2 <= hits[0].last_slide
    assert "Zanzibar warehouse latency" in hits[0].text


def _hits(settings: Settings, query: str, limit: int):
    vector = load_embedder(settings.model, "cpu", 64).embed_queries([query])[0]
    with open_index(index_location(settings)) as index:
        return index.search(vector, limit)


def test_comments_and_chart_values_are_in_the_indexed_text(ingested):
    settings, _ = ingested
    (hit,) = _hits(settings, "Jane Smith: I need to try this out!", 1)
    assert hit.document == COMMENTS_DECK.name and "I need to try this out!" in hit.text
    hits = _hits(settings, "Series 1: 2002-01-05 32, 2002-01-06 32", 20)
    assert any(
        h.document == CHARTS_DECK.name and "2002-01-05 32, 2002-01-06 32" in h.text for h in hits
    )


def test_extract_prints_exactly_the_text_each_run_indexed(ingested):
    settings, outcomes = ingested
    for key in outcomes:
        stored = settings.asset_storage / "extracted_slides" / (quote(key, safe="") + ".json")
        indexed = TypeAdapter(ExtractedDeck).validate_json(stored.read_bytes())
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "osmose_dagster.cli",
                "extract",
                "--json",
                str(settings.inbox / key),
            ],
            cwd=REPO_ROOT,
            env=subprocess_env(settings.home),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        printed = json.loads(done.stdout)
        assert [s["text"] for s in printed["slides"]] == [s.text for s in indexed.slides], key
        assert (
            len(printed["parts_skipped"])
            == outcomes[key].metadata["extracted_slides"]["parts_skipped"]
        )
