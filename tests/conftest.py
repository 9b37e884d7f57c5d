"""Shared fixtures: the real packaged MiniLM (loaded once), sample decks, an isolated OSMOSE_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def embedder():
    from osmose_dagster.core.model.embed import load_embedder

    return load_embedder("all-MiniLM-L6-v2", "cpu", 64)


@pytest.fixture(scope="session")
def sample_decks(tmp_path_factory) -> dict[str, Path]:
    """The four bundled sample decks, by file name (written once per session; do not modify)."""
    from osmose_dagster.cli.samples import write_sample_decks

    paths = write_sample_decks(tmp_path_factory.mktemp("samples"))
    return {path.name: path for path in paths}


@pytest.fixture
def osmose_home(tmp_path, monkeypatch) -> Path:
    """A fresh OSMOSE_HOME and DAGSTER_HOME for one test, on the CPU."""
    home = tmp_path / "osmose"
    monkeypatch.setenv("OSMOSE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("OSMOSE_DEVICE", "cpu")
    for name in ("QDRANT_URL", "QDRANT_API_KEY", "OSMOSE_MODEL", "OSMOSE_COLLECTION"):
        monkeypatch.delenv(name, raising=False)
    return home
