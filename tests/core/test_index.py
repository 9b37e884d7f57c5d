"""Writing, replacing, deleting and searching points in a real embedded Qdrant store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from osmose_dagster.core.embed import load_embedder
from osmose_dagster.core.errors import DimensionMismatchError, IndexBusyError
from osmose_dagster.core.index import (
    DocumentPoints,
    IndexLocation,
    VectorIndex,
    WriteReport,
    collection_name_for,
    open_index,
    point_id,
)
from osmose_dagster.core.records import Chunk

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "all-MiniLM-L6-v2"

TOPICS = [
    (
        "Q3 sales by region",
        "Total Q3 revenue reached $48.2M; EMEA sales grew 18% after enterprise renewals.",
    ),
    (
        "Customer churn",
        "Gross logo churn rose to 6.8%; customers cancel when CRM integrations are missing.",
    ),
    (
        "GPU quota",
        "To train models on the cluster, request a GPU quota for your team in the platform portal.",
    ),
    (
        "Wind energy",
        "Offshore wind turbines in the North Sea produced 12 TWh of renewable electricity.",
    ),
    ("Hiring plan", "We will grow headcount from 412 to 468 employees and hire twenty engineers."),
]


def make_chunks(texts: list[tuple[str, str]]) -> list[Chunk]:
    return [
        Chunk(
            segment=i,
            index=i,
            first_slide=2 * i + 1,
            last_slide=2 * i + 2,
            title=title,
            text=text,
        )
        for i, (title, text) in enumerate(texts)
    ]


@pytest.fixture(scope="module")
def minilm():
    # load_embedder caches per process: every module asking for it shares one model load.
    return load_embedder(MODEL, "cpu", 64)


@pytest.fixture(scope="module")
def deck(minilm) -> tuple[list[Chunk], np.ndarray]:
    chunks = make_chunks(TOPICS)
    return chunks, minilm.embed_passages([c.text for c in chunks])


@pytest.fixture
def location(tmp_path) -> IndexLocation:
    return IndexLocation(collection=collection_name_for(MODEL), path=tmp_path / "qdrant")


def payloads(index: VectorIndex, ids) -> dict[str, dict]:
    points = index.client.retrieve(index.collection, ids=sorted(ids), with_payload=True)
    return {str(p.id): p.payload for p in points}


def test_replacing_a_document_with_the_same_chunks_changes_nothing(location, deck):
    chunks, vectors = deck
    with open_index(location) as index:
        first = index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        ids_before = index.point_ids("deck-a")
    assert (first.written, first.unchanged, first.removed) == (len(chunks), 0, 0)
    assert ids_before == {point_id("deck-a", c) for c in chunks}

    # A re-run, in a fresh connection as a new run would open one.
    with open_index(location) as index:
        second = index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        assert (second.written, second.unchanged, second.removed) == (0, len(chunks), 0)
        assert index.count() == len(chunks)
        assert index.point_ids("deck-a") == ids_before


def test_a_changed_deck_replaces_its_points_and_leaves_other_documents_alone(
    location, minilm, deck
):
    chunks, vectors = deck
    other = make_chunks(
        [("Other deck", "Quality inspection found fewer solder defects this month.")]
    )
    other_vectors = minilm.embed_passages([c.text for c in other])
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        index.replace_document("deck-b", "b.pptx", other, other_vectors, MODEL)
        other_before = payloads(index, index.point_ids("deck-b"))

    # Version 2: slide text of the second chunk edited, the last chunk gone.
    texts = list(TOPICS[:-1])
    texts[1] = ("Customer churn", "Gross logo churn fell to 4.9% after the retention playbook.")
    new_chunks = make_chunks(texts)
    new_vectors = minilm.embed_passages([c.text for c in new_chunks])
    old_ids = {point_id("deck-a", c) for c in chunks}
    new_ids = {point_id("deck-a", c) for c in new_chunks}

    with open_index(location) as index:
        report = index.replace_document("deck-a", "a.pptx", new_chunks, new_vectors, MODEL)
        assert report.written == 1  # the edited chunk
        assert report.unchanged == len(new_chunks) - 1
        assert report.removed == 2  # the edited chunk's old point and the dropped chunk
        assert index.point_ids("deck-a") == new_ids
        assert not (old_ids - new_ids) & set(payloads(index, old_ids))
        stored = payloads(index, new_ids)
        assert stored[point_id("deck-a", new_chunks[1])]["text"] == texts[1][1]
        assert payloads(index, index.point_ids("deck-b")) == other_before
        assert index.documents() == {"deck-a": len(new_chunks), "deck-b": len(other)}


def test_a_batch_replaces_each_of_its_documents_as_if_written_alone(location, minilm, deck):
    chunks, vectors = deck
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        index.replace_document("deck-c", "c.pptx", chunks[:1], vectors[:1], MODEL)
        untouched = payloads(index, index.point_ids("deck-c"))

    shorter = make_chunks(TOPICS[:2])  # deck-a lost three chunks
    new = make_chunks([("Safety", "Forklift lanes in hall 2 get guard rails by December.")])
    batch = [
        DocumentPoints("deck-a", "a.pptx", shorter, vectors[:2]),
        DocumentPoints("deck-b", "b.pptx", new, minilm.embed_passages([new[0].text])),
    ]
    with open_index(location) as index:
        reports = index.replace_documents(batch, MODEL)
        assert reports["deck-a"] == WriteReport(written=0, unchanged=2, removed=3)
        assert reports["deck-b"] == WriteReport(written=1, unchanged=0, removed=0)
        by_document = index.point_ids_by_document(["deck-a", "deck-b", "deck-c", "deck-x"])
        assert by_document["deck-a"] == {point_id("deck-a", c) for c in shorter}
        assert by_document["deck-b"] == {point_id("deck-b", new[0])}
        assert by_document["deck-x"] == set()
        assert payloads(index, by_document["deck-c"]) == untouched
        assert index.documents() == {"deck-a": 2, "deck-b": 1, "deck-c": 1}


def test_opening_the_store_while_another_process_writes_waits_for_it(location, deck):
    """qdrant-client reads the collection's SQLite file before it takes the folder lock: a store
    opened during another process's write transaction must wait, not fail."""
    chunks, vectors = deck
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
    storage = next(location.path.glob("collection/*/storage.sqlite"))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys, time\n"
                f"db = sqlite3.connect({str(storage)!r}, isolation_level=None)\n"
                "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(7)\n"
                "db.execute('COMMIT')\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with open_index(location) as index:
            assert index.point_ids("deck-a") == {point_id("deck-a", c) for c in chunks}
        assert time.monotonic() - started >= 5  # past SQLite's own 5 s wait: ours took over
    finally:
        writer.wait(timeout=30)


class RecordingClient:
    """Delegates to the real Qdrant client; records each write and what the store held then."""

    def __init__(self, client, collection: str, new_ids: set[str]):
        self._client = client
        self._collection = collection
        self._new_ids = new_ids
        self.calls: list[tuple[str, int]] = []  # (method, how many new points were stored)

    def _stored_new(self) -> int:
        points = self._client.retrieve(self._collection, ids=sorted(self._new_ids))
        return len(points)

    def upsert(self, *args, **kwargs):
        result = self._client.upsert(*args, **kwargs)
        self.calls.append(("upsert", self._stored_new()))
        return result

    def delete(self, *args, **kwargs):
        self.calls.append(("delete", self._stored_new()))
        return self._client.delete(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_new_points_are_written_before_stale_points_are_removed(location, minilm, deck):
    chunks, vectors = deck
    new_chunks = make_chunks([(title, text + " (revised)") for title, text in TOPICS[:3]])
    new_vectors = minilm.embed_passages([c.text for c in new_chunks])
    new_ids = {point_id("deck-a", c) for c in new_chunks}
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        recorder = RecordingClient(index.client, index.collection, new_ids)
        index.client = recorder
        report = index.replace_document("deck-a", "a.pptx", new_chunks, new_vectors, MODEL)
        assert report.removed == len(chunks)
        assert index.point_ids("deck-a") == new_ids

    methods = [name for name, _ in recorder.calls]
    assert "upsert" in methods and "delete" in methods, methods
    first_delete = methods.index("delete")
    assert "upsert" not in methods[first_delete:], methods
    # When the first stale point was removed, every new point was already in the store.
    assert recorder.calls[first_delete][1] == len(new_ids)


def test_delete_document_removes_exactly_that_documents_points(location, minilm, deck):
    chunks, vectors = deck
    other = make_chunks(TOPICS[:2])
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        index.replace_document("deck-b", "b.pptx", other, vectors[:2], MODEL)
        b_ids = index.point_ids("deck-b")
        assert index.delete_document("deck-a") == len(chunks)
        assert index.point_ids("deck-a") == set()
        assert index.point_ids("deck-b") == b_ids
        assert index.count() == len(other)
        assert index.delete_document("deck-a") == 0
        assert index.delete_document("never-indexed") == 0
    with open_index(location) as index:  # and it stays that way on disk
        assert index.documents() == {"deck-b": len(other)}


def test_a_collection_refuses_vectors_of_another_dimension(location, deck):
    chunks, vectors = deck
    assert vectors.shape[1] == 384
    wider = np.hstack([vectors, vectors]) / np.sqrt(2.0)  # 768-d, like multilingual-e5-large
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        with pytest.raises(DimensionMismatchError) as caught:
            index.replace_document(
                "deck-b", "b.pptx", chunks, wider, "intfloat/multilingual-e5-large"
            )
        message = str(caught.value)
        assert location.collection in message
        assert "384" in message and "768" in message
        assert index.count() == len(chunks)
        assert index.point_ids("deck-b") == set()


def test_collection_names_differ_per_model_and_are_valid(tmp_path):
    names = {
        model: collection_name_for(model)
        for model in (
            "all-MiniLM-L6-v2",
            "intfloat/multilingual-e5-large",
            "intfloat/multilingual-e5-base",
            "/models/intfloat/multilingual-e5-large/",
        )
    }
    assert (
        len(
            {
                names["all-MiniLM-L6-v2"],
                names["intfloat/multilingual-e5-large"],
                names["intfloat/multilingual-e5-base"],
            }
        )
        == 3
    )
    assert collection_name_for("/models/x/e5-large/") == collection_name_for("/models/x/e5-large")
    for model, name in names.items():
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name), (model, name)
    # The name from a local path works as a collection in a real store.
    path_name = names["/models/intfloat/multilingual-e5-large/"]
    assert path_name != names["all-MiniLM-L6-v2"]
    with open_index(IndexLocation(collection=path_name, path=tmp_path / "q")) as index:
        index.ensure_collection(1024)
        assert index.exists() and index.dimension() == 1024


def test_search_ranks_the_chunk_on_the_asked_topic_first(location, minilm, deck):
    chunks, vectors = deck
    with open_index(location) as index:
        assert index.search(minilm.embed_queries(["anything"])[0], limit=3) == []
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)

    questions = {
        "how do I get GPUs to train my model": 2,
        "why are customers cancelling their subscription": 1,
        "how many people will we hire next year": 4,
        "electricity from offshore wind farms": 3,
        "revenue growth in Europe": 0,
    }
    with open_index(location) as index:
        for question, expected in questions.items():
            hits = index.search(minilm.embed_queries([question])[0], limit=3)
            assert len(hits) == 3
            top = hits[0]
            want = chunks[expected]
            assert top.text == want.text, (question, [h.title for h in hits])
            assert (top.document, top.file) == ("deck-a", "a.pptx")
            assert (top.first_slide, top.last_slide, top.title) == (
                want.first_slide,
                want.last_slide,
                want.title,
            )
            assert hits[0].score >= hits[1].score >= hits[2].score


HOLDER = r"""
import sys, time
from pathlib import Path
from osmose_dagster.core.index import IndexLocation, open_index

with open_index(IndexLocation(collection="c", path=Path(sys.argv[1]), lock_timeout_s=0)) as index:
    print("ready", flush=True)
    sys.stdin.readline()  # hold the store until the test says "release"
    time.sleep(2)
print("released", flush=True)
"""


def test_a_second_process_waits_for_the_embedded_store_or_fails_clearly(tmp_path):
    store = tmp_path / "qdrant"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"

        started = time.monotonic()
        with (
            pytest.raises(IndexBusyError) as caught,
            open_index(IndexLocation(collection="c", path=store, lock_timeout_s=1)),
        ):
            pass
        assert time.monotonic() - started < 10
        message = str(caught.value)
        assert str(store) in message and "QDRANT_URL" in message

        holder.stdin.write("release\n")
        holder.stdin.flush()
        released_at = time.monotonic()
        with open_index(IndexLocation(collection="c", path=store, lock_timeout_s=30)) as index:
            waited = time.monotonic() - released_at
            index.ensure_collection(4)
            assert index.exists()
        assert waited >= 1.5  # it did wait for the holder's ~2 s
        assert holder.wait(timeout=30) == 0
        assert holder.stdout.read().strip() == "released"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
