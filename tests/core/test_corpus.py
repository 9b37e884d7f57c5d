"""Every deck of ../shared/corpus/real extracts or raises a DeckError subclass, and none hangs.

Extraction runs in child processes (a few, each handling a share of the files and printing one JSON
line per file), so that a hang or a crash shows up as a missing line instead of stalling pytest.
LibreOffice is taken off the children's PATH: this checks how files are classified without it; the
conversion path has its own tests in test_pptx_extract.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real"
REPO_ROOT = Path(__file__).resolve().parents[2]
PER_FILE_TIMEOUT_S = 60
WORKERS = 2
WORKER_TIMEOUT_S = 100

if not CORPUS.is_dir():
    pytest.skip("../shared/corpus absent", allow_module_level=True)

WORKER = r"""
import json, signal, sys, traceback
from osmose_dagster.core.errors import DeckError
from osmose_dagster.core.extract.deck import extract_slides

class Timeout(Exception):
    pass

def on_alarm(signum, frame):
    raise Timeout()

signal.signal(signal.SIGALRM, on_alarm)
per_file_timeout = int(sys.argv[1])
for path in sys.argv[2:]:
    result = {"file": path.rsplit("/", 1)[-1]}
    signal.alarm(per_file_timeout)
    try:
        slides = extract_slides(path)
        result.update(outcome="ok", slides=len(slides), chars=sum(len(s.text) for s in slides))
    except Timeout:
        result.update(outcome="timeout")
    except DeckError as error:
        result.update(outcome=type(error).__name__, message=str(error))
    except BaseException as error:
        result.update(outcome="unexpected", message=traceback.format_exc())
    finally:
        signal.alarm(0)
    print(json.dumps(result), flush=True)
"""


def path_without_libreoffice() -> str:
    directories = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(
        d
        for d in directories
        if not any((Path(d) / name).exists() for name in ("soffice", "libreoffice"))
    )


def run_worker(files: list[Path]) -> subprocess.Popen:
    env = dict(os.environ, PATH=path_without_libreoffice(), PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(PER_FILE_TIMEOUT_S), *map(str, files)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as table:
        return {row["file"]: row for row in csv.DictReader(table, delimiter="\t")}


@pytest.fixture(scope="module")
def outcomes(manifest) -> dict[str, dict]:
    decks = sorted(CORPUS / name for name in manifest)
    processes = [run_worker(decks[index::WORKERS]) for index in range(WORKERS)]
    results, problems = {}, []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            problems.append(f"worker timed out after {WORKER_TIMEOUT_S} s")
        if process.returncode != 0:
            problems.append(f"worker exit status {process.returncode}: {stderr[-2000:]}")
        for line in stdout.splitlines():
            result = json.loads(line)
            results[result["file"]] = result
    missing = sorted(set(manifest) - set(results))
    assert not problems and not missing, f"{problems}; no result for {missing}"
    return results


def python_pptx_slide_count(row: dict[str, str]) -> int | None:
    """N where the manifest's python-pptx probe read the deck ('ok slides=N')."""
    found = re.match(r"ok slides=(\d+)", row["python_pptx"])
    return int(found.group(1)) if found else None


def xml_slide_count(row: dict[str, str]) -> int:
    return int(re.search(r"xml_slides=(\d+)", row["notes"]).group(1))


def container(row: dict[str, str]) -> str:
    """The notes' first field: container kind, main content type, parts present."""
    return row["notes"].split(";")[0]


def files_where(manifest, predicate) -> list[str]:
    chosen = sorted(name for name, row in manifest.items() if predicate(row))
    assert chosen, "the manifest no longer has files of this kind"
    return chosen


def outcome_of(outcomes: dict[str, dict], names: list[str]) -> dict[str, str]:
    return {name: outcomes[name]["outcome"] for name in names}


def test_manifest_lists_every_deck_in_the_folder(manifest):
    on_disk = {p.name for p in CORPUS.iterdir() if p.name not in {"MANIFEST.tsv", "README.md"}}
    assert on_disk == set(manifest)


def test_every_deck_extracts_or_raises_a_deck_error_naming_it(outcomes):
    failed = {"unexpected", "timeout"}
    unexpected = {name: r for name, r in outcomes.items() if r["outcome"] in failed}
    assert not unexpected
    for name, result in outcomes.items():
        if result["outcome"] != "ok":
            assert result["outcome"].endswith("Error") and name in result["message"]


def test_slide_counts_match_what_python_pptx_read(manifest, outcomes):
    expected = {name: python_pptx_slide_count(row) for name, row in manifest.items()}
    expected = {name: count for name, count in expected.items() if count is not None}
    actual = {name: (outcomes[name]["outcome"], outcomes[name].get("slides")) for name in expected}
    assert actual == {name: ("ok", count) for name, count in expected.items()}


def test_templates_slideshows_and_macro_decks_extract_every_slide(manifest, outcomes):
    main_types = ("main=template", "main=slideshow", "main=macroEnabled")
    names = files_where(manifest, lambda row: any(t in container(row) for t in main_types))
    actual = {name: (outcomes[name]["outcome"], outcomes[name].get("slides")) for name in names}
    assert actual == {name: ("ok", xml_slide_count(manifest[name])) for name in names}


def test_encrypted_decks_raise_encrypted_error(manifest, outcomes):
    names = files_where(manifest, lambda row: "encrypted" in row["notes"])
    assert outcome_of(outcomes, names) == dict.fromkeys(names, "EncryptedDeckError")


def test_strict_decks_without_libreoffice_raise_strict_error(manifest, outcomes):
    names = files_where(manifest, lambda row: "strict" in container(row).split())
    assert outcome_of(outcomes, names) == dict.fromkeys(names, "StrictOOXMLError")


def test_legacy_decks_without_libreoffice_raise_legacy_encrypted_or_corrupt(manifest, outcomes):
    names = files_where(manifest, lambda row: row["notes"].startswith("ole2; legacy"))
    allowed = {"LegacyFormatError", "EncryptedDeckError", "CorruptDeckError"}
    outcome = outcome_of(outcomes, names)
    assert {name: found for name, found in outcome.items() if found not in allowed} == {}


def test_unreadable_zips_raise_corrupt_error(manifest, outcomes):
    names = files_where(manifest, lambda row: row["notes"].startswith("zip-unreadable"))
    assert outcome_of(outcomes, names) == dict.fromkeys(names, "CorruptDeckError")


def test_decks_where_python_pptx_found_text_give_text(manifest, outcomes):
    with_text = files_where(manifest, lambda row: re.search(r"chars=[1-9]", row["python_pptx"]))
    assert [name for name in with_text if not outcomes[name].get("chars")] == []
