"""Queries read line by line from a stream (`osmose search -`), each with whether another one
is already waiting, so that the caller can hold the index across a burst and let it go between
bursts."""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from typing import TextIO

READ_SIZE = 65536


def query_lines(stream: TextIO) -> Iterator[tuple[str, bool]]:
    """(line without its end, another line already waiting) for each line of `stream`."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        lines = stream.read().splitlines()
        for i, line in enumerate(lines):
            yield line, i + 1 < len(lines)
        return
    buffer, ended = b"", False
    while True:
        while b"\n" not in buffer and not ended:
            data = os.read(fd, READ_SIZE)
            ended = not data
            buffer += data
        if not buffer:
            return
        raw, _, buffer = buffer.partition(b"\n")
        if ended:
            waiting = bool(buffer)
        else:
            waiting = b"\n" in buffer or bool(select.select([fd], [], [], 0)[0])
        yield raw.decode("utf-8", errors="replace").rstrip("\r"), waiting
