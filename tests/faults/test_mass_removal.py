"""The drop-folder sensor must not take an unmounted or emptied inbox (a network share that
did not mount) for the removal of every deck.

Real sensor ticks against a real Dagster instance and embedded store; points are written with
real MiniLM vectors. A missing inbox folder is guarded (core/inbox/scan.py treats a folder that
cannot be listed as unreadable), and so is an inbox that exists but is empty: the mass-removal
guard holds the removals back, tick after tick, until the decks come back (nothing lost) or
OSMOSE_ALLOW_MASS_REMOVAL=1 says they were really deleted.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from dagster import DeleteDynamicPartitionsRequest, build_sensor_context, instance_for_test

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

DOCS = [f"deck_{i}.pptx" for i in range(5)]


@pytest.fixture
def indexed(osmose_home, monkeypatch, embedder):
    from osmose_dagster.core.index.store import open_index
    from osmose_dagster.core.records import Chunk
    from osmose_dagster.core.settings import Settings
    from osmose_dagster.definitions import build_definitions

    monkeypatch.setenv("OSMOSE_STABLE_SECONDS", "0")
    monkeypatch.delenv("OSMOSE_ALLOW_MASS_REMOVAL", raising=False)
    settings = Settings.from_env()
    settings.inbox.mkdir(parents=True)
    old = time.time_ns() - 60 * 10**9
    for i, name in enumerate(DOCS):
        path = settings.inbox / name
        path.write_bytes(f"deck {i}".encode())
        os.utime(path, ns=(old, old))
    defs = build_definitions(settings)
    location = defs.resources["qdrant"].location()
    texts = ["Quarterly revenue grew in EMEA."]
    vectors = embedder.embed_passages(texts)
    with open_index(location) as index:
        for name in DOCS:
            index.replace_document(name, name, [Chunk(0, 0, 1, 1, "t", texts[0])], vectors, "m")
    with instance_for_test() as instance:
        state = {"cursor": None}

        def tick():
            # The code location as (re)started with the environment of the moment: the sensor's
            # settings, OSMOSE_ALLOW_MASS_REMOVAL included, are read when it loads.
            defs = build_definitions(Settings.from_env())
            with build_sensor_context(
                instance_ref=instance.get_ref(),
                definitions=defs,
                resources=defs.resources,
                cursor=state["cursor"],
            ) as context:
                data = defs.resolve_sensor_def("ingest_new_decks").evaluate_tick(context)
            state["cursor"] = data.cursor
            return data

        def documents():
            with open_index(location) as index:
                return set(index.documents())

        tick()
        tick()  # every deck known and requested
        yield settings, tick, documents


def _deleted(data) -> list[str]:
    return [
        k
        for r in data.dynamic_partitions_requests
        if isinstance(r, DeleteDynamicPartitionsRequest)
        for k in r.partition_keys
    ]


@pytest.mark.timeout(300)
def test_a_missing_inbox_removes_nothing(indexed):
    settings, tick, documents = indexed
    shutil.rmtree(settings.inbox)  # the share is not mounted: no folder at all
    assert _deleted(tick()) == []
    assert documents() == set(DOCS)


def _empty(inbox) -> dict:
    """Unlinks every deck (the mount point is there, empty); returns how to put them back."""
    kept = {}
    for name in DOCS:
        path = inbox / name
        kept[name] = (path.read_bytes(), path.stat().st_mtime_ns)
        path.unlink()
    return kept


@pytest.mark.timeout(300)
def test_an_emptied_inbox_removes_nothing_while_the_index_holds_many_documents(indexed):
    settings, tick, documents = indexed
    kept = _empty(settings.inbox)
    for _ in range(2):  # held back, and said so, on every tick it lasts
        data = tick()
        assert _deleted(data) == [] and data.run_requests == []
        assert "removal held back" in data.skip_message
        assert "OSMOSE_ALLOW_MASS_REMOVAL=1" in data.skip_message
    assert documents() == set(DOCS)

    for name, (content, mtime_ns) in kept.items():  # the share is mounted again
        (settings.inbox / name).write_bytes(content)
        os.utime(settings.inbox / name, ns=(mtime_ns, mtime_ns))
    back = tick()
    assert _deleted(back) == [] and back.run_requests == []
    assert "held back" not in back.skip_message
    assert documents() == set(DOCS)

    (settings.inbox / DOCS[0]).unlink()  # and the sensor goes on: one deck removed is removed
    assert _deleted(tick()) == [DOCS[0]]
    assert documents() == set(DOCS[1:])


@pytest.mark.timeout(300)
def test_an_emptied_inbox_is_emptied_from_the_index_once_allowed(indexed, monkeypatch):
    settings, tick, documents = indexed
    _empty(settings.inbox)
    assert _deleted(tick()) == []
    monkeypatch.setenv("OSMOSE_ALLOW_MASS_REMOVAL", "1")  # the user really deleted them all
    assert sorted(_deleted(tick())) == sorted(DOCS)
    assert documents() == set()
    monkeypatch.delenv("OSMOSE_ALLOW_MASS_REMOVAL")
    after = tick()
    assert _deleted(after) == [] and "held back" not in after.skip_message
