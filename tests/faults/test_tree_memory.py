"""The memory the robustness harness charges a run (tests/support/robustness.py: a process and its
descendants, summed as PSS), checked on real processes. The memory contract of
tests/integration/test_corpus_real_path.py and `make robustness` rests on this figure."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.support.robustness import _pss_mib, _tree_rss_mib

HOLDS_300_MIB = "blob = bytearray(300 * 2**20)\nfor i in range(0, len(blob), 4096): blob[i] = 1\n"


def _peak_tree_mib(process: subprocess.Popen) -> tuple[float, float]:
    """(the process alone once ready, the largest tree figure while it runs)."""
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    alone, peak = _pss_mib(process.pid), 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mib(process.pid))
    assert process.returncode == 0
    return alone, peak


def test_a_process_starting_subprocesses_is_not_charged_twice_for_its_own_pages():
    # As Dagster's compute-log capture does: `tail` started again and again. Between fork and
    # exec the new process shares the parent's pages; read a moment after the parent, they
    # were counted twice (a 1 GiB run process read as 2 GiB, over the 2 GiB contract).
    script = (
        HOLDS_300_MIB + "import subprocess, time\nprint('ready', flush=True)\n"
        "end = time.monotonic() + 4\n"
        "while time.monotonic() < end:\n"
        "    subprocess.run(['tail', '-c', '1', '/etc/hostname'], stdout=subprocess.DEVNULL)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    alone, peak = _peak_tree_mib(process)
    assert alone > 300
    assert peak < alone + 50, f"{peak:.0f} MiB for a process of {alone:.0f} MiB"


def test_a_subprocess_running_another_program_is_charged_to_the_tree():
    # As LibreOffice converting a legacy deck: its memory is the run's too.
    script = (
        "import subprocess, time\n"
        "helper = subprocess.Popen(['perl', '-e', '$x = \"a\" x (200 * 2**20); sleep 3'])\n"
        "time.sleep(0.2)\nprint('ready', flush=True)\nhelper.wait()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    started = time.monotonic()
    alone, peak = _peak_tree_mib(process)
    assert time.monotonic() - started > 2
    assert peak > alone + 190, f"{peak:.0f} MiB: perl's 200 MiB not counted"
