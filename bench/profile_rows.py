"""Profile row b (the project through Dagster) and row a (the plain script) with pyinstrument.

    .venv/bin/python -m bench.profile_rows [--out /tmp/osmose-bench/profiles] [--decks big|many:N]

pyinstrument is a dev tool, not a pin of the project: `.venv/bin/pip install pyinstrument`.
Each command runs once in a fresh process (and, for the project, a fresh OSMOSE_HOME and
DAGSTER_HOME) under `pyinstrument`, which samples every 1 ms of the main thread. For each it
writes the session (`.pyisession`), a text tree (`.txt`, library frames collapsed) and an HTML
report, then prints where the time went: imports by package, model construction, encode by
purpose (slides for segmentation, chunks), extraction, the topic DP, chunking, Qdrant, the
Dagster instance, event log writes, the IO manager, and the rest of Dagster's run machinery.
`--load SESSION...` prints that breakdown for saved sessions without running anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

from bench.run_bench import project_env  # noqa: E402
from bench.workloads import write_workload  # noqa: E402


def profile(name: str, command: list[str], out: Path, env: dict) -> Path:
    session = out / f"{name}.pyisession"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pyinstrument",
            "--interval",
            "0.001",
            "-r",
            "pyisession",
            "-o",
            str(session),
            *command,
        ],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for renderer, suffix in (("text", ".txt"), ("html", ".html")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pyinstrument",
                "--load",
                str(session),
                "-r",
                renderer,
                "-o",
                str(out / f"{name}{suffix}"),
            ],
            check=True,
        )
    return session


# --------------------------------------------------------------------------- where the time goes


# (category, test on a frame): the first that matches on the way down from the root takes the
# frame's whole time; what matches none is left to the innermost context (see CONTEXTS).
def _is(function: str, path_part: str):
    return lambda f: f.function == function and path_part in (f.file_path or "")


LEAVES = [
    ("extract (python-pptx)", lambda f: f.function in ("extract_slides", "slide_texts")),
    ("model construction", _is("__init__", "sentence_transformer/model.py")),
    ("topic DP (segment_slides)", _is("segment_slides", "osmose_dagster")),
    ("chunking (token counts)", _is("chunk_segments", "osmose_dagster")),
    (
        "qdrant upsert/scroll/delete",
        lambda f: (
            "qdrant_client" in (f.file_path or "")
            and f.function
            in (
                "upsert",
                "scroll",
                "delete",
                "create_collection",
                "collection_exists",
                "count",
                "get_collection",
                "__init__",
                "close",
            )
        ),
    ),
    ("dagster instance (sqlite, migrations)", _is("create_instance_from_ref", "dagster")),
    (
        "dagster event log writes",
        lambda f: (
            f.function in ("report_dagster_event", "handle_new_event", "store_event")
            and "dagster" in (f.file_path or "")
        ),
    ),
    (
        "io manager (JSON/.npy)",
        lambda f: (
            f.function in ("handle_output", "load_input")
            and "osmose_dagster" in (f.file_path or "")
        ),
    ),
]
CONTEXTS = [
    ("dagster run machinery", _is("execute_in_process", "dagster")),
    ("dagster run machinery", _is("execute_run", "dagster")),
]


IMPORT_LABELS = [
    (
        (
            "torch",
            "transformers",
            "sentence_transformers",
            "tokenizers",
            "safetensors",
            "huggingface_hub",
            "sklearn",
            "scipy",
        ),
        "torch + transformers + sentence-transformers",
    ),
    (("qdrant_client", "grpc", "httpx", "portalocker"), "qdrant-client"),
    (
        ("dagster", "alembic", "sqlalchemy", "osmose_dagster", "pydantic", "grpc_health"),
        "dagster (+ the project's modules)",
    ),
    (("pptx", "lxml", "PIL"), "python-pptx"),
]


def _import_label(path: str) -> str:
    for packages, label in IMPORT_LABELS:
        if any(f"/{package}/" in path or path.endswith(f"/{package}.py") for package in packages):
            return f"import {label}"
    return "import other"


def _visit_import(frame, add) -> None:
    """The first real module below importlib's frames names the package the time belongs to."""
    path = frame.file_path or ""
    if frame.function == "<module>" and not path.startswith("<"):
        add(_import_label(path), frame.time)
        return
    add("import other", frame.total_self_time)
    for child in frame.children:
        _visit_import(child, add)


def breakdown(session_path: Path) -> tuple[float, dict[str, float]]:
    """Seconds per category: imports by package, encode by purpose, the stages, Dagster."""
    from pyinstrument.session import Session

    session = Session.load(session_path)
    totals: dict[str, float] = {}

    def add(label: str, seconds: float) -> None:
        totals[label] = totals.get(label, 0.0) + seconds

    def visit(frame, context: str, purpose: str) -> None:
        path = frame.file_path or ""
        if frame.function == "_find_and_load":
            _visit_import(frame, add)
            return
        if frame.function == "encode" and "sentence_transformers" in path:
            add(f"encode {purpose}", frame.time)
            return
        for label, test in LEAVES:
            if test(frame):
                add(label, frame.time)
                return
        if frame.function == "segment_deck":
            purpose = "slides (segmentation)"
        elif frame.function == "embed_chunks":
            purpose = "chunks"
        for label, test in CONTEXTS:
            if test(frame):
                context = label
        add(context, frame.total_self_time)
        for child in frame.children:
            visit(child, context, purpose)

    visit(session.root_frame(), "other (CLI, Python)", "texts")
    return session.duration, totals


def print_breakdown(name: str, session_path: Path) -> None:
    duration, totals = breakdown(session_path)
    print(f"{name}: {duration:.1f}s sampled (wall, main thread)")
    for label, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        if seconds >= 0.05:
            print(f"  {seconds:7.2f}s  {100 * seconds / duration:5.1f}%  {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "osmose-bench" / "profiles"
    )
    parser.add_argument("--decks", default="big", help="big (the 230-slide deck) or many:N")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", choices=["plain", "project"])
    parser.add_argument(
        "--load", nargs="+", type=Path, help="only print the breakdown of saved sessions"
    )
    args = parser.parse_args()
    if args.load:
        for session in args.load:
            print_breakdown(session.stem, session)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.gettempdir()) / "osmose-bench" / "workloads"
    if args.decks == "big":
        decks = write_workload("big", work / "big")
    else:
        decks = write_workload("many", work / "many")[: int(args.decks.split(":")[1])]
    label = args.decks.replace(":", "")
    reports = []
    if args.only in (None, "plain"):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        reports.append(
            profile(
                f"plain_{label}",
                [str(BENCH / "plain_script.py"), "--device", args.device, *map(str, decks)],
                args.out,
                env,
            )
        )
    if args.only in (None, "project"):
        home = Path(tempfile.mkdtemp(prefix="profile-home-"))
        try:
            (home / "dagster").mkdir()
            shutil.copyfile(
                REPO / "osmose_dagster" / "instance" / "dagster.yaml",
                home / "dagster" / "dagster.yaml",
            )
            env = project_env(home, args)
            reports.append(
                profile(
                    f"project_{label}",
                    [str(Path(sys.executable).parent / "osmose"), "ingest", *map(str, decks)],
                    args.out,
                    env,
                )
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)
    for session in reports:
        print_breakdown(session.stem, session)
        print(f"  (tree: {session.with_suffix('.txt')}, {session.with_suffix('.html')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
