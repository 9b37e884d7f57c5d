"""Where things are for tests and benchmarks, and the environment of a child `osmose` process."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "real"


def subprocess_env(home: Path) -> dict[str, str]:
    """Environment for running the `osmose` CLI in a child process against `home`."""
    env = {k: v for k, v in os.environ.items() if k not in ("QDRANT_URL", "QDRANT_API_KEY")}
    env.update(
        OSMOSE_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        OSMOSE_DEVICE="cpu",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env
