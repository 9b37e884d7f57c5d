"""kill -9 in the middle of `osmose ingest`, then run it again: the index loses nothing and
gains nothing. Real CLI processes, the packaged MiniLM, the embedded Qdrant, a Dagster instance.

One scenario, in order (each step's state is the next one's starting point):
1. decks A and C are ingested; their points are the reference.
2. A gets a new, bigger version; its ingest is killed (SIGKILL, whole process group) once its
   topic segments are stored and before its vectors are: in the middle of embedding. A's old
   points and C's are exactly as before, and the store opens (the dead process's lock is gone).
3. The ingest is started again and killed as soon as the `qdrant_index` step first writes to the
   store (its Edge shard's files change): in the middle of writing A's new points. A's points
   are then its old ones, maybe with part of the new ones beside them (written before old ones
   are removed), or exactly the new ones; nothing else. C is untouched.
4. A third ingest completes: A's points are exactly its new chunks' ids, C is untouched.
"""

from __future__ import annotations

import json

import pytest

from tests.support.faultkit import (
    asset_file,
    chunk_ids,
    kill_group,
    mtime,
    osmose,
    points_by_document,
    read_logs,
    start_osmose,
    store_file,
    wait_until,
    write_big_deck,
)

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

A = "ml_platform_onboarding_en.pptx"
C = "quarterly_review_en.pptx"
BIG_SLIDES = 100  # about 6 s of chunk embedding on 2 cores: a kill lands well inside it


@pytest.mark.timeout(1500)
def test_kill_9_mid_embedding_and_mid_write_then_rerun_converges(tmp_path, sample_decks):
    home = tmp_path / "home"

    # 1. Reference: A (version 1) and C, fully ingested.
    done = osmose(home, "ingest", str(sample_decks[A]), str(sample_decks[C]), "--json")
    assert done.returncode == 0, done.stderr
    before = points_by_document(home)
    assert set(before) == {A, C}
    assert set(before[A]) == set(chunk_ids(home, A))

    # 2. A, version 2 (100 slides), killed mid-embedding.
    new_a = write_big_deck(tmp_path / "v2" / A, BIG_SLIDES, seed=77)
    segments, vectors = (
        asset_file(home, "topic_segments", A),
        asset_file(home, "embeddings", A, ".npy"),
    )
    segments_before, vectors_before = mtime(segments), mtime(vectors)
    run = start_osmose(home, tmp_path / "run2", "ingest", str(new_a), "--json")
    try:
        wait_until(lambda: mtime(segments) != segments_before, run, 900, "A's new topic segments")
    finally:
        status = kill_group(run)
    assert status == -9, read_logs(tmp_path / "run2")
    assert mtime(vectors) == vectors_before, "the kill came after the vectors were stored"
    after_kill = points_by_document(home, lock_timeout_s=5)  # IndexBusyError if a lock survived
    assert after_kill == before  # same documents, same ids, same payloads

    # 3. Again, killed once qdrant_index has started writing A's new points.
    sqlite = store_file(home)
    vectors_before, sqlite_before = mtime(vectors), mtime(sqlite)
    run = start_osmose(home, tmp_path / "run3", "ingest", str(new_a), "--json")
    try:
        wait_until(lambda: mtime(vectors) != vectors_before, run, 900, "A's new vectors")
        written_from = mtime(sqlite)
        wait_until(
            lambda: mtime(sqlite) not in (written_from, sqlite_before), run, 300, "the first write"
        )
    finally:
        status = kill_group(run)
    assert status == -9, read_logs(tmp_path / "run3")
    new_ids = set(chunk_ids(home, A))  # the topic segments the killed runs stored
    old_ids = set(before[A])
    assert not new_ids & old_ids  # a different deck: no id in common, so the phases are distinct
    mid_write = points_by_document(home, lock_timeout_s=5)
    assert mid_write[C] == before[C]
    assert set(mid_write) == {A, C}
    held = set(mid_write[A])
    assert held <= old_ids | new_ids, "points that belong to no version of A"
    assert old_ids <= held or held == new_ids, (
        "A's old version was partly removed, new one incomplete"
    )
    phase = (
        "nothing new written yet"
        if held == old_ids
        else "old and part of new"
        if old_ids < held and not new_ids <= held
        else "old and all of new (stale not yet removed)"
        if held == old_ids | new_ids
        else "new only (run had finished writing)"
    )
    print(f"kill in qdrant_index landed at: {phase} ({len(held & new_ids)}/{len(new_ids)} new)")

    # 4. A full re-run converges to exactly the new points.
    done = osmose(home, "ingest", str(new_a), "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["documents"]
    assert row["checks_passed"] is True
    final = points_by_document(home)
    assert set(final) == {A, C}
    expected = chunk_ids(home, A)
    assert len(expected) == len(set(expected)) == row["points"]
    assert set(final[A]) == set(expected)  # none missing, none extra (no duplicates: ids unique)
    assert final[A] != {}
    assert final[C] == before[C]
    assert all(payload["file"] == A for payload in final[A].values())
