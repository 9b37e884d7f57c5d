"""Extraction fidelity: does `extract_slides` keep every word a reader sees, and in their order?

    .venv/bin/python -m bench.extraction_eval                           # this checkout
    (cd /tmp/before12 && /work/main/.venv/bin/python -m bench.extraction_eval --save before.json)
    .venv/bin/python -m bench.extraction_eval --compare before.json     # corpus words before/after

Decks with expected text (the ground truth):
  built   decks written by tests/support/extraction_decks.py, each with the lines a reader sees
          in reading order (3-D and Office 2016 charts, comments, alt text, groups, footers...);
  corpus  decks of ../shared/corpus/real whose text another project's test suite states:
          unstructured's group-shapes-nested.pptx (A..J, test_pptx.py) and
          fake-power-point-malformed.pptx, markitdown's test.pptx (_test_vectors.py; it lists
          strings that must be found, not the whole text: recall only).
Per deck: word recall and precision (multisets of \\w+ words, case-folded) against the expected
text, and order agreement: the share of pairs of expected lines found in the extracted text in
the same order as expected. Totals are over all words (micro); targets: recall and precision
>= 0.98, order >= 0.95.

Then every deck of the corpus: outcome, words extracted, seconds. With --compare, the same
figures from a --save of another checkout side by side, and the distinct words of the earlier
run that are missing now (a deck must not lose any; the labels the old chart text added,
OLD_CHART_LABELS, are not counted, nor the raw Excel date serials of date axes now shown as the
dates they stand for). Fewer words without a lost distinct word is text repeated on
most slides (a footer) now kept once.

Run from the root of a checkout (`python -m` imports that checkout's osmose_dagster): to measure
an earlier commit, run it in a worktree of that commit (`git worktree add /tmp/before12 REV`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "real"

# Corpus decks whose text another project's tests state: file -> (expected lines, recall only).
CORPUS_EXPECTED: dict[str, tuple[list[str], bool]] = {
    # unstructured test_pptx.py: it_recurses_into_group_shapes: the whole text, in this order.
    "unstructured-io__unstructured__group-shapes-nested.pptx": (list("ABCDEFGHIJ"), False),
    # unstructured test_partition_pptx_malformed: both texts of the slide. The order here is the
    # reader's (the title placeholder above the date placeholder, positions from the layout);
    # unstructured lists the XML order instead.
    "unstructured-io__unstructured__fake-power-point-malformed.pptx": (
        ["Test Slide", "Problem Date Placeholder"],
        False,
    ),
    # markitdown _test_vectors.py: strings that must be found (chart title and value, alt text).
    "microsoft__markitdown__test.pptx": (
        [
            "AutoGen: Enabling Next-Gen LLM Applications via Multi-Agent Conversation",
            "2cdda5c8-e50e-4db4-b5f0-9722a649f455",
            "04191ea8-5c73-4215-a1d3-1cfb43aaaf12",
            "44bf7d06-5e7a-4a40-a2e1-a2e42ef28c8a",
            "1b92870d-e3b5-4e65-8153-919f4ff45592",
            "a3f6004b-6f4f-4ea8-bee3-3741f4dc385f",
            "2003",
            "This phrase of the caption is Human-written.",
        ],
        True,
    ),
}


# Words the extractor before issue 12 added to chart text ("Chart: T — series: A — categories:
# x"), which are on no slide: not counted as lost.
OLD_CHART_LABELS = {"chart", "series", "categories"}


def _shown_as_date(word: str, now: list[str]) -> bool:
    """A number the earlier extractor printed raw that is an Excel date serial (days since
    1899-12-30) of a chart axis formatted as dates, and that the chart text now shows as that
    date ("25204" -> "2002-01-05", the words 2002, 01, 05)."""
    if not word.isdigit() or not 1 <= int(word) <= 2_958_465:
        return False
    day = date(1899, 12, 30) + timedelta(days=int(word))
    return {f"{day.year}", f"{day.month:02}", f"{day.day:02}"} <= set(now)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def normalized(text: str) -> str:
    return " ".join(words(text))


@dataclass
class Score:
    deck: str
    source: str
    outcome: str
    expected_words: int
    found_words: int  # expected words found (multiset intersection)
    extracted_words: int
    ordered_pairs: int
    pairs: int
    recall_only: bool

    @property
    def recall(self) -> float:
        return self.found_words / self.expected_words if self.expected_words else 1.0

    @property
    def precision(self) -> float | None:
        if self.recall_only:
            return None
        return self.found_words / self.extracted_words if self.extracted_words else 0.0

    @property
    def order(self) -> float | None:
        return self.ordered_pairs / self.pairs if self.pairs else None


def score(
    deck: str,
    source: str,
    slides: list[str] | None,
    expected: list[list[str]],
    recall_only: bool,
    error: str,
) -> Score:
    """`expected` holds the lines per slide when it has one list per extracted slide (their
    order is then checked within each slide, so that a line repeated on several slides is found
    where it belongs); otherwise one list of lines for the whole deck."""
    lines = [line for group in expected for line in group]
    expected_words = Counter(word for line in lines for word in words(line))
    got = Counter(words("\n".join(slides or [])))
    found = sum((expected_words & got).values())
    if slides is not None and len(expected) == len(slides):
        groups = list(zip(expected, slides))
    else:
        groups = [(lines, "\n".join(slides or []))]
    located = []
    for number, (group, text) in enumerate(groups):
        haystack = normalized(text)
        for line in group:
            if (position := haystack.find(normalized(line))) >= 0:
                located.append((number, position))
    pairs = [(a, b) for i, a in enumerate(located) for b in located[i + 1 :]]
    return Score(
        deck=deck,
        source=source,
        outcome="ok" if slides is not None else error,
        expected_words=sum(expected_words.values()),
        found_words=found,
        extracted_words=sum(got.values()),
        ordered_pairs=sum(a < b for a, b in pairs),
        pairs=len(pairs),
        recall_only=recall_only,
    )


def extract_text(path: Path) -> tuple[list[str] | None, str, float]:
    """(each slide's indexed text, or None; the error class; seconds)."""
    from osmose_dagster.core.errors import DeckError
    from osmose_dagster.core.extract.deck import extract_slides

    started = time.perf_counter()
    try:
        slides = extract_slides(path)
    except DeckError as error:
        return None, type(error).__name__, time.perf_counter() - started
    return [slide.text for slide in slides], "", time.perf_counter() - started


def gathered_scores(work: Path) -> list[Score]:
    from tests.support.extraction_decks import build_all

    scores = []
    for name, deck in build_all(work).items():
        slides, error, _ = extract_text(deck.path)
        scores.append(score(name, "built", slides, deck.expected, False, error))
    for name, (expected, recall_only) in CORPUS_EXPECTED.items():
        if (CORPUS / name).exists():
            slides, error, _ = extract_text(CORPUS / name)
            scores.append(score(name, "corpus", slides, [expected], recall_only, error))
    return scores


def corpus_figures() -> dict[str, dict]:
    figures = {}
    for path in sorted(CORPUS.iterdir()):
        if path.name in ("MANIFEST.tsv", "README.md"):
            continue
        slides, error, seconds = extract_text(path)
        figures[path.name] = {
            "outcome": "ok" if slides is not None else error,
            "words": words("\n".join(slides or [])),
            "seconds": seconds,
        }
    return figures


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_scores(scores: list[Score]) -> bool:
    print(f"{'deck':62} {'source':6} {'outcome':22} {'recall':>6} {'prec.':>6} {'order':>6}")
    for s in scores:
        print(
            f"{s.deck[:62]:62} {s.source:6} {s.outcome[:22]:22} "
            f"{fmt(s.recall):>6} {fmt(s.precision):>6} {fmt(s.order):>6}"
        )
    found = sum(s.found_words for s in scores)
    expected = sum(s.expected_words for s in scores)
    with_precision = [s for s in scores if not s.recall_only]
    precision_found = sum(s.found_words for s in with_precision)
    extracted = sum(s.extracted_words for s in with_precision)
    pairs = sum(s.pairs for s in scores)
    ordered = sum(s.ordered_pairs for s in scores)
    recall = found / expected if expected else 1.0
    precision = precision_found / extracted if extracted else 0.0
    order = ordered / pairs if pairs else 1.0
    print(
        f"{'TOTAL (micro, over words and line pairs)':62} {'':6} {'':22} "
        f"{recall:6.3f} {precision:6.3f} {order:6.3f}"
    )
    met = recall >= 0.98 and precision >= 0.98 and order >= 0.95
    print(f"targets recall>=0.98 precision>=0.98 order>=0.95: {'met' if met else 'NOT met'}")
    return met


def print_corpus(now: dict[str, dict], before: dict[str, dict] | None) -> bool:
    """Per deck: outcome and words (before -> now), words lost. False when a deck got worse."""
    worse: list[str] = []
    if before is None:
        print(f"\n{'corpus deck':72} {'outcome':22} {'words':>7} {'s':>6}")
        for name, figures in now.items():
            print(
                f"{name[:72]:72} {figures['outcome'][:22]:22} {len(figures['words']):7} "
                f"{figures['seconds']:6.2f}"
            )
    else:
        print(
            f"\n{'corpus deck':64} {'outcome before -> now':34} {'words':>6} {'->':>6} "
            f"{'lost':>5} {'lost distinct':>13}"
        )
        for name, figures in now.items():
            old = before.get(name, {"outcome": "absent", "words": [], "seconds": 0.0})
            lost = Counter(old["words"]) - Counter(figures["words"])
            lost_distinct = sorted(
                word
                for word in set(old["words"]) - set(figures["words"]) - OLD_CHART_LABELS
                if not _shown_as_date(word, figures["words"])
            )
            got_worse = (old["outcome"] == "ok" and figures["outcome"] != "ok") or lost_distinct
            if got_worse:
                worse.append(name)
            outcome = (
                figures["outcome"]
                if old["outcome"] == figures["outcome"]
                else f"{old['outcome']} -> {figures['outcome']}"
            )
            print(
                f"{name[:64]:64} {outcome[:34]:34} {len(old['words']):6} "
                f"{len(figures['words']):6} {sum(lost.values()):5} "
                f"{' '.join(lost_distinct)[:40] or '-':>13}"
            )
        total_before = sum(len(f["words"]) for f in before.values())
        total_now = sum(len(f["words"]) for f in now.values())
        print(f"words over the corpus: {total_before} -> {total_now}")
        print(
            "decks that lost words they had (distinct), or moved to failing: "
            + (", ".join(worse) or "none")
        )
    seconds_now = sum(f["seconds"] for f in now.values())
    seconds_before = f"{sum(f['seconds'] for f in before.values()):.2f} -> " if before else ""
    print(f"extraction seconds over the corpus: {seconds_before}{seconds_now:.2f}")
    return not worse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--save", type=Path, help="write the corpus figures here (JSON)")
    parser.add_argument("--compare", type=Path, help="corpus figures of an earlier --save")
    parser.add_argument("--repeat", type=int, default=1, help="corpus passes; the fastest counts")
    args = parser.parse_args()
    import osmose_dagster

    print(f"osmose_dagster from {Path(osmose_dagster.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="extraction-eval-") as work:
        met = print_scores(gathered_scores(Path(work)))
    if not CORPUS.is_dir():
        print("../shared/corpus/real absent: corpus figures skipped")
        return 0 if met else 1
    runs = [corpus_figures() for _ in range(max(1, args.repeat))]
    now = runs[0]
    for name in now:
        now[name]["seconds"] = min(run[name]["seconds"] for run in runs)
    if args.save:
        args.save.write_text(json.dumps(now))
    before = json.loads(args.compare.read_text()) if args.compare else None
    kept = print_corpus(now, before)
    return 0 if met and kept else 1


if __name__ == "__main__":
    sys.exit(main())
