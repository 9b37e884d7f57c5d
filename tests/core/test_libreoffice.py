"""Legacy .ppt and ISO Strict decks through a real LibreOffice, where one is installed.

The rest of the suite proves the error path without LibreOffice and the conversion plumbing with a
stand-in script; only this module proves that real LibreOffice output extracts.
"""

from __future__ import annotations

import pytest

from osmose_dagster.core.extract.deck import extract_slides
from osmose_dagster.core.extract.sniff import find_soffice
from tests.support.paths import CORPUS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed"),
    pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus/real is absent"),
]


@pytest.mark.parametrize(
    "name, expected_text",
    [
        ("docling-project__docling__legacy_sample.ppt", "Test Table Slide"),
        ("apache__poi__54880_chinese.ppt", "カタカナ"),
        ("dotnet__open-xml-sdk__main_bodypr_rtlcol.pptx", "rtlCol"),  # ISO Strict
    ],
)
def test_converted_deck_extracts_its_text(name, expected_text):
    slides = extract_slides(CORPUS / name)
    assert slides and expected_text in "\n".join(slide.text for slide in slides)
