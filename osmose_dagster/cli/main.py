"""`osmose`: ingest, search, segment, extract, status, remove. See the README for each command."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from osmose_dagster.core.errors import OsmoseError, UsageError
from osmose_dagster.core.ops.dagster_names import EXTRACTED_SLIDES, QDRANT_INDEX, TOPIC_SEGMENTS
from osmose_dagster.core.settings import Settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.handler(args, settings)
    except (OsmoseError, FileNotFoundError, ValueError) as error:
        if args.debug:
            traceback.print_exc()
        print(f"osmose: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser = argparse.ArgumentParser(
        prog="osmose", description="PowerPoint decks into a Qdrant index, through Dagster."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest", parents=[common], help="copy decks into the inbox and materialize them"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.set_defaults(handler=_ingest)

    search = commands.add_parser("search", parents=[common], help="search the index")
    search.add_argument(
        "query", help='what to look for; "-": one query per line of standard input, JSON lines out'
    )
    search.add_argument("--limit", type=_positive_int, default=5)
    search.set_defaults(handler=_search)

    segment = commands.add_parser(
        "segment", parents=[common], help="print a deck's topic segments (no indexing)"
    )
    segment.add_argument("deck", metavar="DECK")
    segment.set_defaults(handler=_segment)

    extract = commands.add_parser(
        "extract",
        parents=[common],
        help="print, per slide, exactly the text that would be indexed (no indexing)",
    )
    extract.add_argument("deck", metavar="DECK")
    extract.add_argument(
        "--markdown", action="store_true", help="Markdown for people: headings, tables, quotes"
    )
    extract.set_defaults(handler=_extract)

    status = commands.add_parser("status", parents=[common], help="what the index holds")
    status.set_defaults(handler=_status)

    remove = commands.add_parser(
        "remove", parents=[common], help="delete documents: points, partition, inbox file"
    )
    remove.add_argument("documents", nargs="+", metavar="DOCUMENT", help="key shown by status")
    remove.set_defaults(handler=_remove)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _ingest(args, settings: Settings) -> int:
    from osmose_dagster.cli.runner import materialize_documents
    from osmose_dagster.core.inbox.files import add_to_inbox

    keys = [add_to_inbox(settings.inbox, Path(path)) for path in args.paths]
    started = time.perf_counter()
    outcomes = materialize_documents(keys, settings, on_start=_progress_of_batch, debug=args.debug)
    rows = []
    for outcome in outcomes:
        meta = outcome.metadata
        rows.append(
            {
                "document": outcome.document,
                "file": outcome.file,
                "slides": meta.get(EXTRACTED_SLIDES, {}).get("slides"),
                "segments": meta.get(TOPIC_SEGMENTS, {}).get("segments"),
                "points": meta.get(QDRANT_INDEX, {}).get("points"),
                "checks_passed": all(outcome.checks.values()) if outcome.checks else None,
                "run_id": outcome.run_id,
                **({} if outcome.success else {"error": outcome.error}),
            }
        )
        if not outcome.success:
            print(f"osmose: {outcome.error}", file=sys.stderr)
    if args.json:
        _print_json({"documents": rows})
    else:
        _print_table(rows, ["document", "slides", "segments", "points", "error"])
        _progress(f"{len(rows)} document(s) in {time.perf_counter() - started:.1f}s")
    return 0 if all(outcome.success for outcome in outcomes) else 1


def _progress_of_batch(keys) -> None:
    if len(keys) == 1:
        _progress(f"ingesting {keys[0]} ...")
    else:
        named = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
        _progress(f"ingesting {len(keys)} decks in one run: {named} ...")


def _search(args, settings: Settings) -> int:
    from osmose_dagster.core.search import search

    if args.query.strip() == "-":
        return _search_lines(args, settings)
    hits = search(args.query, args.limit, settings=settings)
    results = [_hit_row(hit) for hit in hits]
    if args.json:
        _print_json({"results": results})
    elif not results:
        print("no results (is anything indexed? see `osmose status`)")
    else:
        table = [
            {
                "score": f"{hit.score:.3f}",
                "document": hit.document,
                "slides": f"{hit.first_slide}-{hit.last_slide}",
                "title": hit.title[:40],
                "snippet": " ".join(hit.text.split())[:70],
            }
            for hit in hits
        ]
        _print_table(table, ["score", "document", "slides", "title", "snippet"])
    return 0


def _hit_row(hit) -> dict:
    return {
        "document": hit.document,
        "file": hit.file,
        "first_slide": hit.first_slide,
        "last_slide": hit.last_slide,
        "title": hit.title,
        "score": round(hit.score, 4),
        "text": hit.text,
    }


def _search_lines(args, settings: Settings) -> int:
    """`osmose search -`: one query per line of standard input, one JSON line per query
    (`{"query", "results"}`, or `{"query", "error"}` for a blank line), with the model loaded
    once. The store is held while queries keep coming and let go whenever none is waiting, so
    an open pipe never keeps a run from writing."""
    from contextlib import ExitStack

    from osmose_dagster.cli.search_lines import query_lines
    from osmose_dagster.core.index import index_location, open_index
    from osmose_dagster.core.search import check_query, search_in

    embedder = _query_embedder(settings)
    location = index_location(settings)
    with ExitStack() as held:
        index = None
        for line, another_waiting in query_lines(sys.stdin):
            query = line.strip()
            try:
                check_query(query)
            except UsageError as error:
                why = "the query is empty" if not query else str(error).removeprefix("search: ")
                row: dict = {"query": line, "error": why}
            else:
                if index is None:
                    index = held.enter_context(open_index(location))
                hits = search_in(index, embedder, query, args.limit)
                row = {"query": query, "results": [_hit_row(hit) for hit in hits]}
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if not another_waiting and index is not None:
                held.close()
                index = None
    return 0


def _extract_deck(name: str, settings: Settings):
    """The deck at `name` read as a run would read it (limits, passwords)."""
    from osmose_dagster.core.extract.deck import extract_deck
    from osmose_dagster.core.settings import read_passwords

    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    passwords = read_passwords(settings.deck_passwords_file)
    return path, extract_deck(path, limits=settings.limits, passwords=passwords, ocr=settings.ocr)


def _segment(args, settings: Settings) -> int:
    import hashlib

    from osmose_dagster.core.model.pipeline import segment_deck
    from osmose_dagster.core.records import ExtractedDeck

    path, extraction = _extract_deck(args.deck, settings)
    deck = ExtractedDeck(
        document=path.name,
        file=path.name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        slides=extraction.slides,
    )
    segmented = segment_deck(deck, _query_embedder(settings), penalty=settings.segment_penalty)
    segments = [
        {"first_slide": s.first_slide, "last_slide": s.last_slide, "title": s.title}
        for s in segmented.segments
    ]
    if args.json:
        _print_json({"segments": segments})
    else:
        rows = [
            {"slides": f"{s['first_slide']}-{s['last_slide']}", "title": s["title"]}
            for s in segments
        ]
        _print_table(rows, ["slides", "title"])
    return 0


def _extract(args, settings: Settings) -> int:
    from osmose_dagster.core.extract import ocr_budget_warning
    from osmose_dagster.core.extract.render import slides_as_json, slides_as_markdown

    path, extraction = _extract_deck(args.deck, settings)
    for part in extraction.skipped:
        print(f"osmose: {path.name}: {part}", file=sys.stderr)
    if extraction.ocr_budget_exhausted_at:
        print(f"osmose: {path.name}: {ocr_budget_warning(extraction)}", file=sys.stderr)
    if args.json:
        ocr = {"ocr": extraction.ocr.as_metadata()} if extraction.ocr else {}
        _print_json(
            {
                "file": path.name,
                "slides": slides_as_json(extraction.slides),
                "parts_skipped": [str(part) for part in extraction.skipped],
                "counts": extraction.counts,
                **ocr,
            }
        )
    elif args.markdown:
        sys.stdout.write(slides_as_markdown(extraction.slides))
    else:
        for slide in extraction.slides:
            hidden = " (hidden)" if slide.hidden else ""
            print(f"--- slide {slide.number}{hidden} ---")
            print(slide.text)
    return 0


def _status(args, settings: Settings) -> int:
    from osmose_dagster.core.index import index_location, open_index
    from osmose_dagster.core.model.device import resolve_device

    location = index_location(settings)
    with open_index(location) as index:
        per_document = index.documents()
    status = {
        "documents": len(per_document),
        "points": sum(per_document.values()),
        "model": settings.model,
        "device": resolve_device(settings.device).device,
        "collection": location.collection,
        "store": location.describe(),
        "home": str(settings.home),
        "ocr": settings.ocr.describe(),
    }
    if args.json:
        ocr = {"enabled": settings.ocr.enabled, "languages": settings.ocr.languages.split("+")}
        _print_json({**status, "ocr": ocr, "per_document": per_document})
    else:
        for name, value in status.items():
            print(f"{name:>10}  {value}")
        if per_document:
            print()
            _print_table(
                [{"document": d, "points": n} for d, n in sorted(per_document.items())],
                ["document", "points"],
            )
    return 0


def _remove(args, settings: Settings) -> int:
    from osmose_dagster.cli.runner import remove_documents

    removed = remove_documents(args.documents, settings)
    if args.json:
        _print_json({"removed": [{"document": d, "points": n} for d, n in removed.items()]})
    else:
        _print_table(
            [{"document": d, "points removed": n} for d, n in removed.items()],
            ["document", "points removed"],
        )
    return 0


def _query_embedder(settings: Settings):
    """The deployment's model for a query or a one-off command: no compute slot for so little."""
    from osmose_dagster.core.search import query_embedder

    return query_embedder(settings)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _print_json(value) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _print_table(rows: list[dict], columns: list[str]) -> None:
    columns = [c for c in columns if any(row.get(c) not in (None, "") for row in rows)]
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
