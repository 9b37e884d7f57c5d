"""Batches of documents (partition ranges) and the documents a batch could not read."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def ranges_without(
    ordered_keys: Sequence[str], batch: Collection[str], bad: Collection[str]
) -> list[tuple[str, str]]:
    """The contiguous ranges, in `ordered_keys`' order (the partitions as they are now), that
    hold the batch's documents except the bad ones.

    A key outside the batch, or bad, ends a range; a batch document no longer among the keys (a
    deck removed since) is simply not requested.
    """
    wanted = set(batch) - set(bad)
    ranges: list[tuple[str, str]] = []
    run: list[str] = []
    for key in [*ordered_keys, None]:
        if key is not None and key in wanted:
            run.append(key)
            continue
        if run:
            ranges.append((run[0], run[-1]))
        run = []
    return ranges


def group_for_runs(keys: Sequence[str], max_per_run: int, slots: int) -> list[list[str]]:
    """New decks of one sensor tick (in the order their partitions are added, so each group is a
    contiguous partition range) split into runs: at most `max_per_run` decks each, and at least
    one run per compute slot while there are decks enough, so every GPU gets work. Sizes differ
    by one at most; `max_per_run` 1 means a run per deck."""
    if not keys:
        return []
    count = max(-(-len(keys) // max(max_per_run, 1)), min(len(keys), max(slots, 1)))
    size, extra = divmod(len(keys), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(keys[start:end]))
        start = end
    return groups
