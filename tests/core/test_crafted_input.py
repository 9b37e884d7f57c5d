"""Bad input from colleagues: each crafted file gives slides or a clear typed error, in bounded
memory and time. Every extraction runs in a child process so that its peak memory is its own."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest
from pptx import Presentation

from osmose_dagster.core.errors import (
    ConfigError,
    DeckTooLargeError,
    EncryptedDeckError,
)
from osmose_dagster.core.extract.deck import extract_slides
from osmose_dagster.core.settings import ExtractionLimits, Settings, read_passwords
from tests.support.crafted_inputs import ODD_NAMES, ZIP_BOMB_BYTES, write_crafted_inputs
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "real"
MEMORY_BUDGET_BYTES = 2 * 1024**3
TITLE_AND_CONTENT = 1

_CHILD = r"""
import json, re, sys, time
from osmose_dagster.core.errors import DeckError
from osmose_dagster.core.extract.deck import extract_slides
from osmose_dagster.core.settings import Settings, read_passwords
settings = Settings.from_env()
started = time.monotonic()
try:
    slides = extract_slides(
        sys.argv[1],
        limits=settings.limits,
        passwords=read_passwords(settings.deck_passwords_file),
        ocr=settings.ocr,
    )
    result = {"slides": len(slides), "characters": [len(s.text) for s in slides][:3]}
except DeckError as error:
    result = {"error": type(error).__name__, "message": str(error)}
result["seconds"] = round(time.monotonic() - started, 2)
# VmHWM: this process's own peak (ru_maxrss would count the parent's, inherited at fork)
with open("/proc/self/status") as status:
    peak_kib = int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1))
result["peak_rss_bytes"] = peak_kib * 1024
print(json.dumps(result))
"""


def extract_in_child(path: Path, **env: str) -> dict:
    """extract_slides(path) in a fresh interpreter: its result, error, seconds and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        env={
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "OSMOSE_HOME": tempfile.mkdtemp(prefix="osmose-crafted-"),  # its OCR cache
            **env,
        },
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crafted")
    return {name: folder / name for name in write_crafted_inputs(folder)}


# (error class or None for slides, text the message must hold) by file name
EXPECTED: dict[str, tuple[str | None, str]] = {
    "empty.pptx": ("NotAPresentationError", "empty file"),
    "random-bytes.pptx": ("NotAPresentationError", "neither a zip"),
    "zip-not-ooxml.pptx": ("NotAPresentationError", "[Content_Types].xml"),
    "zip-bomb.pptx": ("DeckTooLargeError", "OSMOSE_MAX_MEMBER_MB"),
    "zip-bomb-lying-sizes.pptx": ("CorruptDeckError", "unpacks to more than"),
    "entity-bomb.pptx": ("CorruptDeckError", "declares a DTD or entities"),
    "5000-slides.pptx": (None, ""),
    "1mb-text-slide.pptx": (None, ""),
    "hostile-pictures.pptx": (None, ""),
    **{name: (None, "") for name in ODD_NAMES},
}
SLIDES = {"5000-slides.pptx": 5000}


def test_every_crafted_file_has_an_expectation(crafted):
    assert set(crafted) == set(EXPECTED)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_crafted_file_gives_slides_or_a_clear_error_in_bounded_memory(crafted, name):
    result = extract_in_child(crafted[name])
    error, cause = EXPECTED[name]
    print(f"{name}: {result}")  # shown with -s: the measured seconds and peak RSS
    if error is None:
        assert "error" not in result, result
        assert result["slides"] == SLIDES.get(name, 1)
        assert result["characters"][0] > 0  # real text, so it indexes
    else:
        assert result.get("error") == error, result
        assert name in result["message"] and cause in result["message"], result["message"]
    assert result["peak_rss_bytes"] < MEMORY_BUDGET_BYTES


def test_hostile_pictures_cost_only_themselves_and_the_words_beside_them_are_read(crafted):
    from osmose_dagster.core.extract import extract_deck
    from osmose_dagster.core.settings import OcrSettings

    extraction = extract_deck(crafted["hostile-pictures.pptx"], ocr=OcrSettings(cache_dir=None))

    assert extraction.ocr is not None and extraction.ocr.read == 1
    assert dict(extraction.ocr.skipped) == {
        "too_large": 1,
        "unreadable": 1,
        "unsupported_format": 3,
        "too_small": 1,
    }
    assert extraction.slides[0].text == "Pictures from anywhere\nQuarterly churn review"


def test_the_one_megabyte_slide_is_extracted_whole(crafted):
    [slide] = extract_slides(crafted["1mb-text-slide.pptx"])
    assert len(slide.text) >= 1_000_000


def test_crafted_inputs_are_deterministic(crafted, tmp_path):
    again = write_crafted_inputs(tmp_path)
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    assert {n: digest(tmp_path / n) for n in again} == {n: digest(p) for n, p in crafted.items()}


def test_the_zip_bombs_are_small_files_that_really_hold_gigabytes(crafted):
    honest = crafted["zip-bomb.pptx"]
    assert honest.stat().st_size < 8 * 1024**2
    with zipfile.ZipFile(honest) as archive:
        assert archive.getinfo("ppt/slides/slide1.xml").file_size == ZIP_BOMB_BYTES
    with zipfile.ZipFile(crafted["zip-bomb-lying-sizes.pptx"]) as archive:
        info = archive.getinfo("ppt/slides/slide1.xml")
    assert info.file_size < 10_000  # what it declares; its stream holds far more:
    with open(crafted["zip-bomb-lying-sizes.pptx"], "rb") as raw:
        raw.seek(info.header_offset + 30 + len(info.filename))
        inflated = zlib.decompressobj(-15).decompress(raw.read(info.compress_size), 64 * 1024**2)
    assert len(inflated) == 64 * 1024**2


def test_crafted_inputs_command_writes_and_lists_the_files(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "support" / "crafted_inputs.py"), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(EXPECTED)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(EXPECTED)


# --- limits, from the environment ----------------------------------------------------------------


def deck(path: Path, slides: int = 2, body: str = "Some body text") -> Path:
    prs = Presentation()
    for number in range(1, slides + 1):
        slide = prs.slides.add_slide(prs.slide_layouts[TITLE_AND_CONTENT])
        slide.shapes.title.text = f"Slide {number}"
        slide.placeholders[1].text_frame.text = body
    prs.save(path)
    return path


def test_limits_default_and_come_from_the_environment():
    assert Settings.from_env({}).limits == ExtractionLimits()
    limits = Settings.from_env(
        {
            "OSMOSE_MAX_FILE_MB": "2",
            "OSMOSE_MAX_SLIDES": "3",
            "OSMOSE_MAX_SLIDE_CHARS": "400",
            "OSMOSE_MAX_UNPACKED_MB": "0.5",
            "OSMOSE_MAX_MEMBER_MB": "0.25",
        }
    ).limits
    assert limits == ExtractionLimits(
        max_file_bytes=2 * 1024**2,
        max_slides=3,
        max_slide_chars=400,
        max_unpacked_bytes=512 * 1024,
        max_member_bytes=256 * 1024,
    )


@pytest.mark.parametrize("value", ["lots", "0", "-1"])
def test_a_limit_that_makes_no_sense_is_a_config_error(value):
    with pytest.raises(ConfigError, match="OSMOSE_MAX_SLIDES"):
        Settings.from_env({"OSMOSE_MAX_SLIDES": value})


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("OSMOSE_MAX_FILE_MB", "0.01", "the file is"),
        ("OSMOSE_MAX_SLIDES", "1", "2 slides, over the limit of 1"),
        ("OSMOSE_MAX_SLIDE_CHARS", "10", "slide 1 holds"),
        ("OSMOSE_MAX_UNPACKED_MB", "0.05", "the package unpacks to"),
        ("OSMOSE_MAX_MEMBER_MB", "0.01", "unpacks to"),
    ],
)
def test_each_limit_exceeded_names_the_limit_and_the_variable_that_raises_it(
    tmp_path, variable, value, says
):
    path = deck(tmp_path / "over the limit.pptx")
    limits = Settings.from_env({variable: value}).limits
    with pytest.raises(DeckTooLargeError) as caught:
        extract_slides(path, limits=limits)
    message = str(caught.value)
    assert "over the limit.pptx" in message and says in message
    assert f"raise {variable} to accept it" in message
    assert extract_slides(path)  # within the default limits it extracts


def test_a_limit_set_in_the_environment_reaches_a_child_process(tmp_path):
    path = deck(tmp_path / "three.pptx", slides=3)
    result = extract_in_child(path, OSMOSE_MAX_SLIDES="2")
    assert result["error"] == "DeckTooLargeError"
    assert "three.pptx" in result["message"] and "OSMOSE_MAX_SLIDES" in result["message"]


def test_the_cli_reports_a_limit_in_one_line(tmp_path):
    path = deck(tmp_path / "three.pptx", slides=3)
    done = subprocess.run(
        [sys.executable, "-m", "osmose_dagster.cli", "segment", str(path), "--json"],
        env={
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "OSMOSE_HOME": str(tmp_path / "home"),
            "OSMOSE_MAX_SLIDES": "2",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "three.pptx" in lines[0] and "OSMOSE_MAX_SLIDES" in lines[0]


def test_the_dagster_inbox_resource_carries_the_limits_and_the_password_file(tmp_path):
    from osmose_dagster.definitions import build_definitions

    passwords = tmp_path / "passwords.txt"
    passwords.write_text("first\nsecond\n")
    settings = Settings.from_env(
        {
            "OSMOSE_HOME": str(tmp_path / "home"),
            "OSMOSE_MAX_SLIDES": "7",
            "OSMOSE_DECK_PASSWORDS_FILE": str(passwords),
        }
    )
    inbox = build_definitions(settings).resources["inbox"]
    assert inbox.extraction_limits() == settings.limits
    assert inbox.extraction_limits().max_slides == 7
    assert inbox.deck_passwords_file == str(passwords)  # the path, never the passwords
    assert inbox.deck_passwords() == ("first", "second")


# --- encrypted decks and a password list ---------------------------------------------------------

ENCRYPTED_PPTX = "apache__tika__testppt_protected_passtika.pptx"  # password "tika" (MANIFEST.tsv)
ENCRYPTED_PPT = "apache__poi__password_protected-hello.ppt"  # password "hello"
SECRET_WRONG = "n0t-the-Secret"


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus absent")
    return CORPUS / name


def password_file(tmp_path: Path, *passwords: str) -> Path:
    path = tmp_path / "deck-passwords.txt"
    path.write_text("".join(f"{p}\n" for p in passwords) + "\n")
    return path


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """tempfile's folder, for this test only: what decryption leaves behind shows there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_an_encrypted_deck_opens_with_a_password_from_the_list(tmp_path, private_tmp):
    passwords = read_passwords(password_file(tmp_path, SECRET_WRONG, "tika"))
    slides = extract_slides(corpus_file(ENCRYPTED_PPTX), passwords=passwords)
    assert slides and any(slide.text.strip() for slide in slides)
    assert list(private_tmp.iterdir()) == []  # the decrypted copy is gone


def test_no_password_that_works_is_a_clear_error_without_the_passwords(tmp_path, private_tmp):
    passwords = read_passwords(password_file(tmp_path, SECRET_WRONG, "also-Wrong-42"))
    with pytest.raises(EncryptedDeckError) as caught:
        extract_slides(corpus_file(ENCRYPTED_PPTX), passwords=passwords)
    message = str(caught.value)
    assert ENCRYPTED_PPTX in message and "none of the 2 passwords" in message
    assert SECRET_WRONG not in message and "also-Wrong-42" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert list(private_tmp.iterdir()) == []


def test_without_a_password_list_the_error_says_how_to_give_one():
    with pytest.raises(EncryptedDeckError, match="set OSMOSE_DECK_PASSWORDS_FILE"):
        extract_slides(corpus_file(ENCRYPTED_PPTX))


def test_a_password_list_reaches_a_child_process_through_the_environment(tmp_path):
    path = password_file(tmp_path, SECRET_WRONG, "tika")
    ok = extract_in_child(corpus_file(ENCRYPTED_PPTX), OSMOSE_DECK_PASSWORDS_FILE=str(path))
    assert ok.get("slides", 0) >= 1, ok
    wrong = password_file(tmp_path, SECRET_WRONG)
    failed = extract_in_child(corpus_file(ENCRYPTED_PPTX), OSMOSE_DECK_PASSWORDS_FILE=str(wrong))
    assert (
        failed["error"] == "EncryptedDeckError" and "none of the 1 password " in failed["message"]
    )
    assert SECRET_WRONG not in failed["message"]


def test_an_encrypted_legacy_ppt_says_that_passwords_are_for_pptx_only(tmp_path):
    passwords = read_passwords(password_file(tmp_path, "hello"))
    with pytest.raises(EncryptedDeckError) as caught:
        extract_slides(corpus_file(ENCRYPTED_PPT), passwords=passwords)
    assert ENCRYPTED_PPT in str(caught.value) and "save this one without a password" in str(
        caught.value
    )
    assert "hello" not in str(caught.value).replace(ENCRYPTED_PPT, "")


def test_an_unreadable_password_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="OSMOSE_DECK_PASSWORDS_FILE"):
        read_passwords(tmp_path / "missing.txt")
    assert Settings.from_env({}).deck_passwords_file is None
    assert read_passwords(None) == ()
