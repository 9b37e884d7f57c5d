"""The house rules of docs/architecture.md, read from the code: core/ imports no Dagster, the
daemon's plugins (instance/) import core/ and never the definitions, asset names and run tags
are spelled in one module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "osmose_dagster"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_core_imports_no_dagster():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            m
            for m in imported_modules(path)
            if "dagster" in m.split(".")[0] and not m.startswith("osmose_dagster")
        )
        for path in (PACKAGE / "core").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_daemon_plugins_load_core_and_never_the_definitions():
    for path in (PACKAGE / "instance").rglob("*.py"):
        ours = {m for m in imported_modules(path) if m.startswith("osmose_dagster.")}
        assert all(
            m.startswith(("osmose_dagster.core", "osmose_dagster.instance")) for m in ours
        ), (
            path.name,
            ours,
        )
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, osmose_dagster.instance.run_coordinator, "
            "osmose_dagster.instance.local_run_launcher, osmose_dagster.instance.run_launcher; "
            "print(sorted(m for m in sys.modules if m.startswith('osmose_dagster.')))",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "osmose_dagster.defs" not in loaded and "osmose_dagster.definitions" not in loaded


def test_asset_names_and_run_tags_are_spelled_only_where_they_are_declared():
    names = ["raw_documents", "extracted_slides", "topic_segments", "embeddings", "qdrant_index"]
    spelled = re.compile(r"[\"'](" + "|".join(names) + r"|osmose/[a-z_]+)[\"']")
    offenders = [
        f"{path.relative_to(PACKAGE)}: {match.group(0)}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "dagster_names.py"
        for match in spelled.finditer(path.read_text())
    ]
    assert offenders == []
