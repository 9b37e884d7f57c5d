"""The bundled sample decks are deterministic, readable, and carry their topic vocabulary."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from osmose_dagster.cli.samples import SAMPLE_DECKS, ZIP_DATE_TIME, write_sample_decks

EXPECTED = {
    "quarterly_review_en.pptx": 11,
    "energie_renouvelable_fr.pptx": 10,
    "produktion_qualitaet_de.pptx": 12,
    "ml_platform_onboarding_en.pptx": 13,
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shape_texts(shapes):
    """Text of every shape, descending into groups and tables."""
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_texts(shape.shapes)
        elif shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    yield cell.text
        elif shape.has_text_frame:
            yield shape.text_frame.text


def _slide_text(slide) -> str:
    parts = list(_shape_texts(slide.shapes))
    if slide.has_notes_slide:
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def _max_group_depth(shapes, depth=0) -> int:
    groups = [s for s in shapes if s.shape_type == MSO_SHAPE_TYPE.GROUP]
    return max((_max_group_depth(g.shapes, depth + 1) for g in groups), default=depth)


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, Path]:
    paths = write_sample_decks(tmp_path_factory.mktemp("decks") / "nested")
    return {p.name: p for p in paths}


@pytest.fixture(scope="module")
def slide_texts(decks) -> dict[str, list[str]]:
    return {
        name: [_slide_text(s) for s in Presentation(str(p)).slides] for name, p in decks.items()
    }


def test_writes_all_decks(decks):
    assert sorted(decks) == sorted(EXPECTED)
    assert [spec.filename for spec in SAMPLE_DECKS] == list(decks)


def test_byte_identical_across_runs(decks, tmp_path):
    again = {p.name: p for p in write_sample_decks(tmp_path)}
    for name, path in decks.items():
        assert _sha256(path) == _sha256(again[name]), name


def test_zip_entries_have_fixed_timestamps(decks):
    for path in decks.values():
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            assert {info.date_time for info in z.infolist()} == {ZIP_DATE_TIME}
            assert z.namelist()[0] == "[Content_Types].xml"


@pytest.mark.parametrize("spec", SAMPLE_DECKS, ids=lambda s: s.filename)
def test_deck_structure(spec, decks):
    prs = Presentation(str(decks[spec.filename]))
    assert len(prs.slides) == EXPECTED[spec.filename] == spec.slide_count
    assert 8 <= len(prs.slides) <= 14
    assert 2 <= len(spec.topics) <= 4
    assert prs.slides[0].shapes.title.text == spec.title
    assert prs.core_properties.title == spec.title
    assert prs.core_properties.language == spec.language
    for slide, slide_spec in zip(list(prs.slides)[1:], (s for t in spec.topics for s in t.slides)):
        assert slide.shapes.title.text == slide_spec.title
        if slide_spec.bullets:
            assert 2 <= len(slide_spec.bullets) <= 5


@pytest.mark.parametrize("spec", SAMPLE_DECKS, ids=lambda s: s.filename)
def test_topic_phrase_is_in_its_topic_and_in_no_other_deck(spec, slide_texts):
    texts = slide_texts[spec.filename]
    for (name, first, last), topic in zip(spec.topic_ranges(), spec.topics):
        phrase = topic.search_phrase.lower()
        hits = [i + 1 for i, t in enumerate(texts) if phrase in t.lower()]
        assert hits, f"{topic.search_phrase!r} missing from {spec.filename}"
        assert all(first <= h <= last for h in hits), (name, hits, (first, last))
        for other, other_texts in slide_texts.items():
            if other != spec.filename:
                assert not any(phrase in t.lower() for t in other_texts), (phrase, other)


def test_topic_ranges_are_consecutive():
    for spec in SAMPLE_DECKS:
        ranges = spec.topic_ranges()
        assert ranges[0][1] == 2 and ranges[-1][2] == spec.slide_count
        for (_, _, end), (_, start, _) in zip(ranges, ranges[1:]):
            assert start == end + 1


def test_feature_coverage(decks):
    decks_with_tables, notes_slides, nested_groups = set(), 0, 0
    nested_group_texts = []
    for name, path in decks.items():
        for slide in Presentation(str(path)).slides:
            if any(s.has_table for s in slide.shapes):
                decks_with_tables.add(name)
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame.text.strip():
                notes_slides += 1
            if _max_group_depth(slide.shapes) >= 2:
                nested_groups += 1
                inner = [
                    g
                    for s in slide.shapes
                    if s.shape_type == MSO_SHAPE_TYPE.GROUP
                    for g in s.shapes
                    if g.shape_type == MSO_SHAPE_TYPE.GROUP
                ]
                nested_group_texts.extend(_shape_texts(inner[0].shapes))
    assert len(decks_with_tables) >= 2
    assert notes_slides >= 5
    assert nested_groups >= 1
    assert "Distributed training" in nested_group_texts


@pytest.mark.parametrize(
    "filename, words",
    [
        (
            "quarterly_review_en.pptx",
            ["EMEA", "48.2", "churn", "retention", "headcount", "time-to-hire"],
        ),
        (
            "energie_renouvelable_fr.pptx",
            ["Provence", "photovoltaïque", "éoliennes", "multiplicateur", "k€"],
        ),
        (
            "produktion_qualitaet_de.pptx",
            [
                "Ausschussquote",
                "Lunkerbildung",
                "Kanban-Supermarkt",
                "Lieferkette",
                "Arbeitssicherheit",
            ],
        ),
        (
            "ml_platform_onboarding_en.pptx",
            ["GPU quota", "Slurm", "Hyperparameter sweep", "model registry", "GDPR"],
        ),
    ],
)
def test_distinctive_words(filename, words, slide_texts):
    text = "\n".join(slide_texts[filename])
    for word in words:
        assert word in text, (filename, word)


def test_cli_prints_paths(tmp_path, capsys):
    from osmose_dagster.cli.samples import main

    assert main([str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == list(EXPECTED)
    assert main([]) == 2
