"""Two processes and the embedded store, through the `osmose` command: a second process waits
OSMOSE_LOCK_TIMEOUT_S, then fails with one clear line; given longer, it goes on once the first
lets go. (tests/core/test_index.py covers the same at the open_index level, in-process.)"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.support.faultkit import env_for, osmose
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

HOLDER = """
import sys, time
from pathlib import Path
from osmose_dagster.core.index.store import IndexLocation, open_index

with open_index(IndexLocation(collection="c", path=Path(sys.argv[1]), lock_timeout_s=0)):
    print("holding", flush=True)
    sys.stdin.readline()  # until the test says so
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def hold_store(home, linger_s: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home / "qdrant"), str(linger_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env_for(home),
        cwd=REPO_ROOT,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.mark.timeout(300)
def test_a_second_osmose_fails_clearly_then_succeeds_once_the_store_is_free(tmp_path):
    home = tmp_path / "home"
    holder = hold_store(home, linger_s=3)
    try:
        busy = osmose(home, "status", "--json", OSMOSE_LOCK_TIMEOUT_S="1")
        assert busy.returncode == 2
        assert len(busy.stderr.strip().splitlines()) == 1, busy.stderr
        line = busy.stderr.strip()
        assert line.startswith("osmose: ") and "Traceback" not in line
        assert str(home / "qdrant") in line and "held by another process" in line
        assert "OSMOSE_LOCK_TIMEOUT_S" in line and "QDRANT_URL" in line

        waiter = subprocess.Popen(
            [sys.executable, "-m", "osmose_dagster.cli", "status", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(home, OSMOSE_LOCK_TIMEOUT_S="120"),
            cwd=REPO_ROOT,
        )
        time.sleep(1)  # let it start waiting (it may still be importing: the order is what counts)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        out, err = waiter.communicate(timeout=240)
        assert waiter.returncode == 0, err
        assert '"documents": 0' in out
        assert holder.wait(timeout=60) == 0
        assert holder.stdout.read().strip() == "released"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
