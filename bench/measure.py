"""Run one command and report its wall time, peak RSS and CPU time as JSON (a fresh wrapper per
measurement, so that `RUSAGE_CHILDREN` holds only that command and what it waited for).

    python -m bench.measure RESULT.json [--cwd DIR] [--log LOG] -- COMMAND...

`peak_rss_mib` is `ru_maxrss` of RUSAGE_CHILDREN after the command exits: on Linux the largest
resident set of any one process in its tree that was waited for (not the sum over processes).
`wall_s` runs from just before the spawn to the exit. stdout and stderr go to LOG (default:
RESULT.json with .log); the last 4000 characters of stdout are kept in the JSON too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("result", type=Path)
    parser.add_argument("--cwd")
    parser.add_argument("--log", type=Path)
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("usage: measure.py RESULT.json [--cwd DIR] [--log LOG] -- COMMAND...")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    log = args.log or args.result.with_suffix(".log")
    out = log.with_suffix(".stdout")
    with log.open("wb") as err, out.open("wb") as stdout:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=args.cwd, stdout=stdout, stderr=err)
        wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = out.read_text(errors="replace")
    args.result.write_text(
        json.dumps(
            {
                "command": command,
                "rc": done.returncode,
                "wall_s": round(wall, 3),
                "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                "stdout": text[-4000:],
                "stderr_tail": log.read_text(errors="replace")[-3000:],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
