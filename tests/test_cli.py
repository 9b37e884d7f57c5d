"""The `osmose` command as scripts and people use it: real child processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pptx import Presentation

from tests.support.paths import CORPUS, subprocess_env


def osmose(home: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "osmose_dagster.cli", *args],
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_segment_json_covers_every_slide_in_order(tmp_path, sample_decks):
    deck = sample_decks["quarterly_review_en.pptx"]
    done = osmose(tmp_path, "segment", str(deck), "--json")
    assert done.returncode == 0, done.stderr
    segments = json.loads(done.stdout)["segments"]
    assert segments[0]["first_slide"] == 1
    assert segments[-1]["last_slide"] == len(Presentation(deck).slides)
    for before, after in zip(segments, segments[1:]):
        assert after["first_slide"] == before["last_slide"] + 1
    assert all(s["first_slide"] <= s["last_slide"] and s["title"] for s in segments)
    assert len(segments) >= 3  # the deck has three topics


@pytest.mark.slow
def test_ingest_then_search_then_status(tmp_path, sample_decks):
    home = tmp_path / "home"
    deck = sample_decks["ml_platform_onboarding_en.pptx"]
    done = osmose(home, "ingest", str(deck), "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["documents"]
    assert row["document"] == deck.name and row["file"] == deck.name
    assert row["slides"] == len(Presentation(deck).slides)
    assert row["points"] >= row["segments"] >= 1
    assert row["checks_passed"] is True

    found = osmose(home, "search", "request more GPU quota", "--limit", "2", "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert len(results) == 2
    assert set(results[0]) == {
        "document",
        "file",
        "first_slide",
        "last_slide",
        "title",
        "score",
        "text",
    }
    assert results[0]["document"] == deck.name and "quota" in results[0]["text"].lower()

    status = osmose(home, "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["documents"], report["points"]) == (1, row["points"])
    assert report["model"] == "all-MiniLM-L6-v2" and report["device"] == "cpu"

    table = osmose(home, "search", "request more GPU quota")
    assert table.returncode == 0 and deck.name in table.stdout and "score" in table.stdout

    # `search -`: one JSON line per line of stdin, the model loaded once.
    lines = ["request more GPU quota", "", '"bastion host"', "Wie viele Unfälle?"]
    piped = subprocess.run(
        [sys.executable, "-m", "osmose_dagster.cli", "search", "-", "--limit", "3"],
        input="\n".join(lines) + "\n",
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0, piped.stderr
    answers = [json.loads(line) for line in piped.stdout.splitlines()]
    assert [a["query"] for a in answers] == lines
    assert answers[0]["results"][0]["text"] == results[0]["text"]  # as `search QUERY` ranks
    assert answers[1]["error"] == "the query is empty"
    assert answers[2]["results"] and all(
        "bastion host" in r["text"].lower() for r in answers[2]["results"]
    )
    assert isinstance(answers[3]["results"], list)

    # While it waits for the next line it does not hold the store: another command gets in.
    waiting = subprocess.Popen(
        [sys.executable, "-m", "osmose_dagster.cli", "search", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(home),
    )
    try:
        waiting.stdin.write("GPU quota\n")
        waiting.stdin.flush()
        assert json.loads(waiting.stdout.readline())["results"]
        busy = subprocess.run(  # fails after 5 s if the store were held
            [sys.executable, "-m", "osmose_dagster.cli", "status", "--json"],
            env={**subprocess_env(home), "OSMOSE_LOCK_TIMEOUT_S": "5"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert busy.returncode == 0, busy.stderr
        waiting.stdin.write("bastion\n")
        waiting.stdin.close()
        assert json.loads(waiting.stdout.readline())["query"] == "bastion"
        assert waiting.wait(timeout=60) == 0
    finally:
        if waiting.poll() is None:
            waiting.kill()


def test_missing_file_is_one_clear_line_without_traceback(tmp_path):
    done = osmose(tmp_path, "ingest", str(tmp_path / "nowhere.pptx"))
    assert done.returncode == 2
    assert "nowhere.pptx" in done.stderr and "no such file" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_bad_deck_names_the_file_and_cause_and_exits_non_zero(tmp_path, sample_decks):
    home = tmp_path / "home"
    empty = tmp_path / "empty slides.pptx"
    empty.write_bytes(b"")
    done = osmose(
        home, "ingest", str(empty), str(sample_decks["quarterly_review_en.pptx"]), "--json"
    )
    assert done.returncode == 1
    rows = {row["document"]: row for row in json.loads(done.stdout)["documents"]}
    assert "error" not in rows["quarterly_review_en.pptx"]
    assert "empty slides.pptx" in rows["empty slides.pptx"]["error"]
    assert "not a PowerPoint presentation" in done.stderr and "Traceback" not in done.stderr


def test_segment_on_an_encrypted_deck_says_so(tmp_path):
    deck = CORPUS / "dotnet__open-xml-sdk__encrypted_pptx.pptx"
    if not deck.exists():
        pytest.skip("../shared/corpus/real is absent on this machine")
    done = osmose(tmp_path, "segment", str(deck), "--json")
    assert done.returncode == 2
    assert deck.name in done.stderr and "password-protected" in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path):
    done = osmose(tmp_path, "segment", str(tmp_path / "absent.pptx"), "--debug")
    assert done.returncode == 2 and "Traceback" in done.stderr


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_search_is_a_usage_error(tmp_path, query):
    done = osmose(tmp_path, "search", query)
    assert done.returncode == 2 and done.stdout == ""
    assert "the query is empty" in done.stderr and "osmose search" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("query", ["???", "-- !! --", '"*"'])
def test_a_search_with_nothing_to_search_for_says_so(tmp_path, query):
    done = osmose(tmp_path, "search", query)
    assert done.returncode == 2 and done.stdout == ""
    assert "no letters or digits" in done.stderr and query in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("make", ["encrypted", "not a deck", "missing"])
def test_extract_on_bad_input_is_one_line_naming_the_file_and_cause(tmp_path, make):
    if make == "encrypted":
        deck, cause = CORPUS / "dotnet__open-xml-sdk__encrypted_pptx.pptx", "password-protected"
    elif make == "not a deck":
        deck, cause = tmp_path / "notes.pptx", "not a PowerPoint presentation"
        deck.write_text("meeting notes, not slides")
    else:
        deck, cause = tmp_path / "absent.pptx", "no such file"
    done = osmose(tmp_path, "extract", str(deck))
    assert done.returncode == 2 and done.stdout == ""
    assert deck.name in done.stderr and cause in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_extract_markdown_shows_each_slide_with_its_comments(tmp_path):
    deck = CORPUS / "docling-project__docling__powerpoint_comments.pptx"
    done = osmose(tmp_path, "extract", "--markdown", str(deck))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("## Slide ") == 3
    assert "## Slide 1: Test Slide With Comments" in done.stdout
    assert "> *Comment:* John Reviewer: This is a sample reviewer comment" in done.stdout
    plain = osmose(tmp_path, "extract", str(deck))
    assert plain.returncode == 0 and plain.stdout.count("--- slide ") == 3
    assert "Jane Smith: I need to try this out!" in plain.stdout
