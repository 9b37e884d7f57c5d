"""Queries in the scripts of the real corpus (../shared/corpus/real): a Japanese or an Arabic
query finds the slide that holds its words, among the sample decks and the corpus decks in other
languages, extracted, segmented, embedded and indexed by the project's own code on Qdrant Edge."""

from __future__ import annotations

import pytest

from osmose_dagster.core.index import IndexLocation, open_index
from tests.support.indexing import document_points
from tests.support.paths import CORPUS

JAPANESE = "apache__poi__with_japanese.pptx"  # "ゾルゲと尾崎、淡々と最期" on slide 1
ARABIC = "apache__poi__stress022.pptx"  # Algerian student guide, Arabic and French
OTHERS = [
    "apache__poi__stress021.pptx",
    "apache__poi__sample_pptx_grouping_issues.pptx",
]  # Hebrew, English


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder, sample_decks):
    paths = [CORPUS / JAPANESE, CORPUS / ARABIC, *sample_decks.values()]
    paths += [CORPUS / name for name in OTHERS]
    location = IndexLocation(collection="c", path=tmp_path_factory.mktemp("lang") / "qdrant")
    with open_index(location) as index:
        index.replace_documents(document_points(paths, embedder), "m")
    return location


@pytest.mark.parametrize(
    "query, deck",
    [
        ("尾崎", JAPANESE),  # two characters of a run written without spaces
        ("淡々と最期", JAPANESE),
        ("ゾルゲ", JAPANESE),  # the voiced mark kept: ゲ is not ケ
        ("الجزائر", ARABIC),  # typed without the tatweel the slide stretches it with
        ("دليل الطالب", ARABIC),
    ],
)
def test_a_query_in_another_script_finds_the_deck_that_holds_its_words(
    index, embedder, query, deck
):
    with open_index(index) as opened:
        hits = opened.search(embedder.embed_queries([query])[0], 3, query)
    assert hits and hits[0].document == deck, [(h.document, h.text[:40]) for h in hits]
