"""Every real-world deck of ../shared/corpus/real, and every crafted bad file, through the real
path: dropped into the inbox, taken up by the real `ingest_new_decks` sensor evaluated against a
real (SQLite) Dagster instance with the repository's dagster.yaml, and run by the sensor's job in
child processes (tests/support/robustness.py, the same harness as `make robustness`).

For speed, the files share child processes here (one per compute slot, two CPU slots side by
side, as the run queue would run them); `make robustness` gives each file a process of its own.
Per file: indexed, or failed with a typed error (an OsmoseError subclass) whose message names the
file, under 2 GiB; and what the corpus manifest implies. Then the sensor still ticks, and the
sample decks indexed before everything keep exactly their points.

LibreOffice: legacy .ppt and ISO Strict decks are converted and indexed when `soffice` is on
PATH; without it they must fail with LegacyFormatError / StrictOOXMLError. scripts/test.sh does
not install LibreOffice, so the expectation follows `find_soffice()` on the machine running this.
About 6 minutes on 2 cores (5.5 to 6.5 measured here).
"""

from __future__ import annotations

import re

import pytest

from osmose_dagster.core.extract.sniff import find_soffice
from tests.support import robustness as rb

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),
]  # the module's session runs in the first test's set-up

if not (rb.CORPUS / "MANIFEST.tsv").exists():
    pytest.skip("../shared/corpus/real is absent", allow_module_level=True)

SOFFICE = find_soffice() is not None
MANIFEST = rb.read_manifest()

# Legacy decks that LibreOffice (7.4 here) converts and that carry no damage in the manifest's
# notes: with soffice installed they must be indexed. The damaged or very old ones (PowerPoint 4.0
# and 95, inconsistent or missing records, fuzzer output) may also fail with ConversionError or
# CorruptDeckError, depending on the LibreOffice version.
LEGACY_REAL_DECKS = {
    "apache__poi__54880_chinese.ppt",
    "apache__poi__badzip.ppt",
    "apache__poi__bug45124.ppt",
    "apache__poi__bug55902-mixedfontchinesecharacters.ppt",
    "apache__poi__customgeo.ppt",
    "apache__poi__simplemacro.ppt",
    "apache__tika__testmschart-govdocs-428996.ppt",
    "decalage2__oletools__sample_with_vba.ppt",
    "docling-project__docling__legacy_sample.ppt",
    "unstructured-io__unstructured__fake-power-point.ppt",
}

# Crafted files (tests/support/crafted_inputs.py): the error class each must end in, or None
# where it is a real deck that must be indexed (the odd names, 5000 slides, 1 MB of text, hostile
# pictures).
CRAFTED_ERRORS = {
    "empty.pptx": "NotAPresentationError",
    "random-bytes.pptx": "NotAPresentationError",
    "zip-not-ooxml.pptx": "NotAPresentationError",
    "zip-bomb.pptx": "DeckTooLargeError",
    "zip-bomb-lying-sizes.pptx": "CorruptDeckError",
    "entity-bomb.pptx": "CorruptDeckError",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> rb.Report:
    root = tmp_path_factory.mktemp("robustness")
    items = rb.corpus_items(soffice=SOFFICE)
    items += rb.crafted_items(root / "crafted")  # ImportError (a failure, not a skip) if absent
    session = rb.run_session(root / "run", items, batch=len(items), slots=2)
    print(rb.table(session.rows))  # shown with -s, or on failure
    print(rb.summary(session))
    return session


@pytest.fixture(scope="module")
def rows(report) -> dict[str, rb.Row]:
    return {row.file: row for row in report.rows}


def test_every_corpus_file_and_crafted_file_went_through(rows):
    assert set(MANIFEST) <= set(rows)
    assert set(CRAFTED_ERRORS) <= set(rows)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file_is_indexed_or_fails_with_a_typed_error_naming_it(rows, name):
    row = rows[name]
    assert row.outcome in ("indexed", "failed"), (row.outcome, row.detail)
    if row.outcome == "failed":
        assert row.error_class in rb.typed_error_names(), (row.error_class, row.detail)
        assert name in row.detail, row.detail
    peak = max(row.peak_rss_mib or 0, row.tree_peak_mib or 0)
    assert 0 < peak < rb.MEMORY_LIMIT_MIB
    assert not row.violations, row.violations  # the manifest's expectation included


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file_outcome_matches_the_manifest(rows, name):
    manifest_row, row = MANIFEST[name], rows[name]
    kind, classes = rb.expectation(manifest_row, SOFFICE)
    if kind == "indexed":
        assert row.outcome == "indexed", (row.error_class, row.detail)
        probed = re.match(r"ok slides=(\d+)", manifest_row["python_pptx"])
        if probed:  # python-pptx read it: the run extracted as many slides
            assert row.slides == int(probed.group(1))
    elif kind == "error":
        assert (row.outcome, row.error_class) in {("failed", c) for c in classes}, row.detail
    else:
        assert row.outcome == "indexed" or row.error_class in classes, (row.error_class, row.detail)


def test_converted_decks_are_indexed_when_libreoffice_is_installed(rows):
    legacy = sorted(n for n, r in MANIFEST.items() if r["notes"].startswith("ole2; legacy"))
    strict = sorted(n for n, r in MANIFEST.items() if "strict" in rb.container(r).split())
    assert set(legacy) >= LEGACY_REAL_DECKS and strict
    outcomes = {name: (rows[name].outcome, rows[name].error_class) for name in [*legacy, *strict]}
    if SOFFICE:
        must = sorted(LEGACY_REAL_DECKS) + strict
        assert {n: outcomes[n] for n in must} == dict.fromkeys(must, ("indexed", ""))
        assert all(rows[n].points for n in must if rows[n].slides)
    else:
        assert {n: outcomes[n] for n in strict} == dict.fromkeys(
            strict, ("failed", "StrictOOXMLError")
        )
        assert {
            n: c
            for n, (o, c) in outcomes.items()
            if n in legacy
            and c not in ("LegacyFormatError", "EncryptedDeckError", "CorruptDeckError")
        } == {}


@pytest.mark.parametrize("name", sorted(CRAFTED_ERRORS))
def test_crafted_bad_file_fails_with_its_typed_error_in_bounded_memory(rows, name):
    row = rows[name]
    assert (row.outcome, row.error_class) == ("failed", CRAFTED_ERRORS[name]), row.detail
    assert name in row.detail
    assert max(row.peak_rss_mib or 0, row.tree_peak_mib or 0) < rb.MEMORY_LIMIT_MIB
    assert not row.violations, row.violations


def test_crafted_real_decks_are_indexed_in_bounded_memory(rows, report):
    crafted = [row for row in report.rows if row.source == "crafted"]
    good = [row for row in crafted if row.file not in CRAFTED_ERRORS]
    assert len(good) >= 8  # six odd names, 5000 slides, 1 MB of text
    assert {row.file: row.outcome for row in good} == {row.file: "indexed" for row in good}
    assert all(row.points for row in good)
    assert {row.file: row.violations for row in crafted if row.violations} == {}


def test_the_sensor_still_ticks_and_the_first_decks_keep_their_points(report):
    assert [row.outcome for row in report.samples] == ["indexed"] * 4
    assert all(row.points for row in report.samples)
    assert report.problems == []
