"""Writing, replacing, deleting and searching points, on both engines behind `open_index`.

`engine` runs each test twice: on Qdrant Edge embedded (the real engine, as users run it), and
on `ServerEngine`, the code that talks to a Qdrant server, given qdrant-client's own in-process
implementation of the Qdrant API (local mode) instead of a server, since none can run here.
What the second does not prove: that a real server accepts these requests (their bodies are
checked in tests/core/test_index_server_requests.py) and scores exactly as that stand-in.
Tests of the embedded store's locking, WAL and migration run on Edge only.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from osmose_dagster.core.errors import DimensionMismatchError, IndexBusyError
from osmose_dagster.core.index import edge as index_edge
from osmose_dagster.core.index.server import ServerEngine
from osmose_dagster.core.index.store import (
    DocumentPoints,
    IndexLocation,
    VectorIndex,
    WriteReport,
    chunk_payload,
    collection_name_for,
    open_index,
    point_id,
)
from osmose_dagster.core.model.embed import load_embedder
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


@pytest.fixture(params=["edge", "server-api"])
def store(request, tmp_path):
    """`store()` opens the index for one operation, as `open_index` does: Qdrant Edge, or the
    server engine over qdrant-client's in-process Qdrant (persisted in a folder between opens)."""
    collection = collection_name_for(MODEL)
    if request.param == "edge":
        location = IndexLocation(collection=collection, path=tmp_path / "qdrant")

        def open_edge():
            return open_index(location)

        open_edge.kind = "edge"  # type: ignore[attr-defined]
        return open_edge

    @contextmanager
    def open_server_stand_in():
        import warnings

        from qdrant_client import QdrantClient

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = QdrantClient(path=str(tmp_path / "server-stand-in"))
        engine = ServerEngine(client, collection)
        try:
            yield VectorIndex(engine, IndexLocation(collection=collection, url="http://stand-in"))
        finally:
            engine.close()

    open_server_stand_in.kind = "server-api"  # type: ignore[attr-defined]
    return open_server_stand_in


def payloads(index: VectorIndex, ids) -> dict[str, dict]:
    return index.payloads(sorted(ids))


def test_replacing_a_document_with_the_same_chunks_changes_nothing(store, deck):
    chunks, vectors = deck
    with store() as index:
        first = index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        ids_before = index.point_ids("deck-a")
    assert (first.written, first.unchanged, first.removed) == (len(chunks), 0, 0)
    assert ids_before == {point_id("deck-a", c) for c in chunks}

    # A re-run, in a fresh connection as a new run would open one.
    with store() as index:
        second = index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        assert (second.written, second.unchanged, second.removed) == (0, len(chunks), 0)
        assert index.count() == len(chunks)
        assert index.point_ids("deck-a") == ids_before


def test_a_changed_deck_replaces_its_points_and_leaves_other_documents_alone(store, minilm, deck):
    chunks, vectors = deck
    other = make_chunks(
        [("Other deck", "Quality inspection found fewer solder defects this month.")]
    )
    other_vectors = minilm.embed_passages([c.text for c in other])
    with store() as index:
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

    with store() as index:
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


def test_a_batch_replaces_each_of_its_documents_as_if_written_alone(store, minilm, deck):
    chunks, vectors = deck
    with store() as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        index.replace_document("deck-c", "c.pptx", chunks[:1], vectors[:1], MODEL)
        untouched = payloads(index, index.point_ids("deck-c"))

    shorter = make_chunks(TOPICS[:2])  # deck-a lost three chunks
    new = make_chunks([("Safety", "Forklift lanes in hall 2 get guard rails by December.")])
    batch = [
        DocumentPoints("deck-a", "a.pptx", shorter, vectors[:2]),
        DocumentPoints("deck-b", "b.pptx", new, minilm.embed_passages([new[0].text])),
    ]
    with store() as index:
        reports = index.replace_documents(batch, MODEL)
        assert reports["deck-a"] == WriteReport(written=0, unchanged=2, removed=3)
        assert reports["deck-b"] == WriteReport(written=1, unchanged=0, removed=0)
        by_document = index.point_ids_by_document(["deck-a", "deck-b", "deck-c", "deck-x"])
        assert by_document["deck-a"] == {point_id("deck-a", c) for c in shorter}
        assert by_document["deck-b"] == {point_id("deck-b", new[0])}
        assert by_document["deck-x"] == set()
        assert payloads(index, by_document["deck-c"]) == untouched
        assert index.documents() == {"deck-a": 2, "deck-b": 1, "deck-c": 1}


@pytest.mark.slow  # child processes
def test_opening_the_store_while_another_process_holds_the_shard_waits_for_it(location, deck):
    """Edge refuses a second opener of a shard's WAL (WouldBlock): a process that holds the
    shard without our store lock (another tool, an older osmose) is waited for, not failed on."""
    chunks, vectors = deck
    with open_index(location) as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
    shard = index_edge.shard_path(location.path, location.collection)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time, qdrant_edge\n"
                f"shard = qdrant_edge.EdgeShard.load({str(shard)!r})\n"
                "print('holding', flush=True); time.sleep(4); shard.close()\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with open_index(location) as index:
            assert index.point_ids("deck-a") == {point_id("deck-a", c) for c in chunks}
        assert time.monotonic() - started >= 2  # it waited for the holder
    finally:
        holder.wait(timeout=30)


class RecordingEngine:
    """Delegates to the real engine; records each write and what the store held then."""

    def __init__(self, engine, new_ids: set[str]):
        self._engine = engine
        self._new_ids = new_ids
        self.calls: list[tuple[str, int]] = []  # (method, how many new points were stored)

    def _stored_new(self) -> int:
        return len(self._engine.retrieve(sorted(self._new_ids)))

    def upsert(self, points):
        result = self._engine.upsert(points)
        self.calls.append(("upsert", self._stored_new()))
        return result

    def delete(self, ids):
        self.calls.append(("delete", self._stored_new()))
        return self._engine.delete(ids)

    def __getattr__(self, name):
        return getattr(self._engine, name)


def test_new_points_are_written_before_stale_points_are_removed(store, minilm, deck):
    chunks, vectors = deck
    new_chunks = make_chunks([(title, text + " (revised)") for title, text in TOPICS[:3]])
    new_vectors = minilm.embed_passages([c.text for c in new_chunks])
    new_ids = {point_id("deck-a", c) for c in new_chunks}
    with store() as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        recorder = RecordingEngine(index.engine, new_ids)
        index.engine = recorder
        report = index.replace_document("deck-a", "a.pptx", new_chunks, new_vectors, MODEL)
        assert report.removed == len(chunks)
        assert index.point_ids("deck-a") == new_ids

    methods = [name for name, _ in recorder.calls]
    assert "upsert" in methods and "delete" in methods, methods
    first_delete = methods.index("delete")
    assert "upsert" not in methods[first_delete:], methods
    # When the first stale point was removed, every new point was already in the store.
    assert recorder.calls[first_delete][1] == len(new_ids)


def test_delete_document_removes_exactly_that_documents_points(store, minilm, deck):
    chunks, vectors = deck
    other = make_chunks(TOPICS[:2])
    with store() as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        index.replace_document("deck-b", "b.pptx", other, vectors[:2], MODEL)
        b_ids = index.point_ids("deck-b")
        assert index.delete_document("deck-a") == len(chunks)
        assert index.point_ids("deck-a") == set()
        assert index.point_ids("deck-b") == b_ids
        assert index.count() == len(other)
        assert index.delete_document("deck-a") == 0
        assert index.delete_document("never-indexed") == 0
    with store() as index:  # and it stays that way on disk
        assert index.documents() == {"deck-b": len(other)}


def test_a_collection_refuses_vectors_of_another_dimension(store, deck):
    chunks, vectors = deck
    assert vectors.shape[1] == 384
    wider = np.hstack([vectors, vectors]) / np.sqrt(2.0)  # 768-d, like multilingual-e5-large
    with store() as index:
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)
        with pytest.raises(DimensionMismatchError) as caught:
            index.replace_document(
                "deck-b", "b.pptx", chunks, wider, "intfloat/multilingual-e5-large"
            )
        message = str(caught.value)
        assert collection_name_for(MODEL) in message
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


def test_search_ranks_the_chunk_on_the_asked_topic_first(store, minilm, deck):
    chunks, vectors = deck
    with store() as index:
        assert index.search(minilm.embed_queries(["anything"])[0], limit=3) == []
        index.replace_document("deck-a", "a.pptx", chunks, vectors, MODEL)

    questions = {
        "how do I get GPUs to train my model": 2,
        "why are customers cancelling their subscription": 1,
        "how many people will we hire next year": 4,
        "electricity from offshore wind farms": 3,
        "revenue growth in Europe": 0,
    }
    with store() as index:
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
from osmose_dagster.core.index.store import IndexLocation, open_index

with open_index(IndexLocation(collection="c", path=Path(sys.argv[1]), lock_timeout_s=0)) as index:
    print("ready", flush=True)
    sys.stdin.readline()  # hold the store until the test says "release"
    time.sleep(2)
print("released", flush=True)
"""


@pytest.mark.slow  # child processes
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


CODES = [
    ("Error codes", "Pump controller fault E-4471 means the inlet valve sensor is disconnected."),
    ("Error codes", "Pump controller fault E-4417 means the outlet pressure is over its limit."),
    (
        "Suppliers",
        "Castings come from Gießerei Müller in Görlitz; backup supplier Fonderie Lefèvre.",
    ),
    ("Énergie", "La disponibilité des éoliennes a atteint 97 % grâce à l'inspection des pales."),
    ("Team", "Ask Dr. Okonkwo-Rasmussen about the Kestrel data pipeline before migrating."),
]


@pytest.fixture(scope="module")
def library(minilm) -> tuple[list[Chunk], np.ndarray]:
    chunks = make_chunks(TOPICS + CODES)
    return chunks, minilm.embed_passages([c.text for c in chunks])


def test_hybrid_search_finds_the_exact_words_people_type(store, minilm, library):
    """Codes, names and words of any of the three languages, typed as a user would: the chunk
    that has them comes first (BM25 fused with the dense ranking)."""
    chunks, vectors = library
    with store() as index:
        index.replace_document("lib", "lib.pptx", chunks, vectors, MODEL)
    expected = {
        "E-4417": CODES[1][1],
        "fault E-4471": CODES[0][1],
        "Okonkwo-Rasmussen": CODES[4][1],
        "Kestrel": CODES[4][1],
        "giesserei muller": CODES[2][1],  # typed without the accents and the ß
        "Gießerei Müller": CODES[2][1],
        "Fonderie Lefèvre": CODES[2][1],
        "disponibilite eoliennes": CODES[3][1],
    }
    with store() as index:
        for query, text in expected.items():
            hits = index.search(minilm.embed_queries([query])[0], limit=3, query=query)
            assert hits[0].text == text, (query, [h.text[:40] for h in hits])
            assert hits[0].score >= hits[1].score
            sparse = index.search(minilm.embed_queries([query])[0], 3, query, mode="sparse")
            assert sparse[0].text == text, query


def test_a_quoted_phrase_must_occur_in_every_result(store, minilm, library):
    chunks, vectors = library
    with store() as index:
        index.replace_document("lib", "lib.pptx", chunks, vectors, MODEL)
        vector = minilm.embed_queries(["pump fault"])[0]
        hits = index.search(vector, 5, '"outlet pressure" pump fault')
        assert [h.text for h in hits] == [CODES[1][1]]
        # Case and accents aside, words in that order; not the same words in another order.
        # (Accents are folded by the `text` payload index, which qdrant-client's stand-in for
        # a server ignores: checked on Edge, and in the index's request on a server.)
        spelled = "DISPONIBILITE des eoliennes" if store.kind == "edge" else "DISPONIBILITé des"
        hits = index.search(vector, 5, f'"{spelled}"')
        assert [h.text for h in hits] == [CODES[3][1]]
        assert index.search(vector, 5, '"pressure outlet"') == []
        # Two phrases: both.
        assert index.search(vector, 5, '"pump controller" "inlet valve"')[0].text == CODES[0][1]
        assert len(index.search(vector, 5, '"pump controller"')) == 2


def test_a_line_copied_from_a_deck_finds_that_deck_among_decks_that_repeat_its_sentences(
    store, minilm
):
    """Generated reports repeat the same sentences with other figures; the one holding the
    exact line comes first, although others hold its words more often."""
    template = "Support handled {} tickets this quarter, {}% of them about login and billing."
    filler = [
        f"Item {i}: the rollout of release {i} went to plan in every region." for i in range(12)
    ]
    decks = {
        f"report-{n}": (
            [template.format(4000 + 17 * n, 20 + n), *filler]
            if n == 3
            else [
                *(template.format(4000 + 17 * n + i, 20 + n) for i in range(3)),
                "Case 4051 was closed; 23 agents joined.",  # the line's figures, elsewhere
            ]
        )
        for n in range(12)
    }
    with store() as index:
        for name, lines in decks.items():
            chunks = make_chunks([("Support", " ".join(lines))])
            index.replace_document(
                name, f"{name}.pptx", chunks, minilm.embed_passages([chunks[0].text]), MODEL
            )
        line = template.format(4000 + 17 * 3, 23)
        hits = index.search(minilm.embed_queries([line])[0], 3, line)
        assert hits[0].document == "report-3", [h.document for h in hits]
        # Without the word-for-word rule BM25 prefers the chunks that repeat the sentence.
        sparse = index.search(minilm.embed_queries([line])[0], 3, line, mode="sparse")
        assert sparse[0].document != "report-3"


WRITER = r"""
import sys
from pathlib import Path
import numpy as np
from osmose_dagster.core.index import edge as index_edge
from osmose_dagster.core.index.store import IndexLocation, open_index
from osmose_dagster.core.records import Chunk

index_edge.UPSERT_BATCH = 200  # many WAL operations, so that a kill lands between and inside them
store, version, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
chunks = [Chunk(i, i, i + 1, i + 1, f"t{i}", f"{version} chunk {i} text") for i in range(count)]
rng = np.random.default_rng(len(version))
vectors = rng.normal(size=(count, 384)).astype("float32")
with open_index(IndexLocation(collection="c", path=store)) as index:
    print("writing", flush=True)
    index.replace_document("deck", "deck.pptx", chunks, vectors, "m")
print("done", flush=True)
"""


@pytest.mark.parametrize("delay_s", [0.0, 0.3, 1.0, 3.0])
@pytest.mark.slow  # child processes
def test_kill_9_in_the_middle_of_a_write_leaves_the_old_or_the_new_points(tmp_path, delay_s):
    """A process replacing a document is killed (SIGKILL) at some point of its write: the store
    opens (no lock survives), and holds the old version's points, maybe with part of the new
    one beside them (new points are written first), or exactly the new ones; nothing else."""
    store = tmp_path / "qdrant"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))

    def write(version: str, count: int, kill_after: float | None):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), version, str(count)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        assert child.stdout.readline().strip() == "writing"
        if kill_after is None:
            assert child.wait(timeout=300) == 0
            return
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)

    def ids_of(version: str, count: int) -> set[str]:
        return {
            point_id("deck", Chunk(i, i, i + 1, i + 1, f"t{i}", f"{version} chunk {i} text"))
            for i in range(count)
        }

    write("old", 3000, None)
    old, new = ids_of("old", 3000), ids_of("new", 4000)
    write("new", 4000, delay_s)
    location = IndexLocation(collection="c", path=store, lock_timeout_s=5)
    with open_index(location) as index:
        held = index.point_ids("deck")
        assert held <= old | new, "points that belong to no version"
        assert old <= held or held == new, "old version partly removed, new one incomplete"
        stored = index.payloads(sorted(held & new)[:5])
        assert all(p["text"].startswith("new chunk") for p in stored.values())
        print(f"killed after {delay_s}s: {len(held & old)} old, {len(held & new)} new points")
    write("new", 4000, None)  # a re-run converges
    with open_index(location) as index:
        assert index.point_ids("deck") == new
        assert index.count() == len(new)


def test_the_search_graph_is_built_at_the_end_of_a_write_not_in_a_search(
    tmp_path, minilm, deck, monkeypatch
):
    """Past the indexing threshold the write builds the HNSW graph (Edge's optimize()); a search
    changes nothing. A threshold of 100 KiB (about 66 points of 384 dimensions) makes it happen
    with 300 points; the default is 10,000 KiB."""
    monkeypatch.setattr(index_edge, "INDEXING_THRESHOLD_KB", 100)
    location = IndexLocation(collection="c", path=tmp_path / "qdrant")
    rng = np.random.default_rng(7)
    many = make_chunks([(f"t{i}", f"text number {i}") for i in range(300)])
    vectors = rng.normal(size=(300, 384)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with open_index(location) as index:
        index.replace_document("few", "few.pptx", many[:20], vectors[:20], MODEL)
        engine = index.engine
        assert isinstance(engine, index_edge.EdgeEngine)
        small = engine.info()
        # indexed_vectors counts sparse vectors (always indexed) and dense ones in a graph
        assert small["indexed_vectors"] <= small["points"]
        index.replace_document("many", "many.pptx", many, vectors, MODEL)
        built = engine.info()
        assert built["points"] == 320
        assert built["indexed_vectors"] - built["points"] >= 250, built  # dense in a graph
    with open_index(location) as index:
        before = index.engine.info()
        hits = index.search(vectors[123], 5, "text number 123")
        assert hits[0].text == "text number 123"
        assert index.engine.info() == before


def test_a_shard_made_with_indexes_in_memory_gets_cold_ones_at_its_next_write(
    tmp_path, minilm, library
):
    """Shards created before the payload indexes were cold (loaded whole into memory when the
    store opens) are converted at the end of their next write; phrases and removals work on."""
    import qdrant_edge as edge

    location = IndexLocation(collection="c", path=tmp_path / "qdrant")
    shard_dir = index_edge.shard_path(location.path, "c")
    old = edge.EdgeShard.create(
        str(shard_dir),
        edge.EdgeConfig(
            vectors=edge.EdgeVectorParams(size=384, distance=edge.Distance.Cosine),
            sparse_vectors={"bm25": edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
        ),
    )
    old.update(edge.UpdateOperation.create_field_index("document", edge.PayloadSchemaType.Keyword))
    hot_text = edge.TextIndexParams(
        tokenizer=edge.TokenizerType.Word, lowercase=True, ascii_folding=True, phrase_matching=True
    )
    old.update(edge.UpdateOperation.create_field_index("text", hot_text))
    old.close()

    def memory() -> dict:
        shard = edge.EdgeShard.load(str(shard_dir))
        try:
            return {
                k: getattr(v.params, "memory", None) for k, v in shard.info().payload_schema.items()
            }
        finally:
            shard.close()

    assert edge.Memory.Cold not in memory().values()
    chunks, vectors = library
    with open_index(location) as index:
        index.replace_document("lib", "lib.pptx", chunks, vectors, MODEL)
    assert memory() == {"document": edge.Memory.Cold, "text": edge.Memory.Cold}
    with open_index(location) as index:
        query = minilm.embed_queries(["pump fault"])[0]
        assert [h.text for h in index.search(query, 5, '"outlet pressure" pump fault')] == [
            CODES[1][1]
        ]
        assert index.point_ids("lib") and index.delete_document("lib") == len(chunks)
        assert index.count() == 0


@pytest.mark.slow  # child processes
def test_a_store_of_the_old_kind_is_rebuilt_by_itself_and_nothing_is_lost(
    location, minilm, library
):
    """A store written by qdrant-client's local mode (what osmose used before Qdrant Edge), with
    the payloads and vectors the old code wrote: the first opening copies it into an Edge shard,
    vectors as they were, BM25 computed from the stored text; the old files stay in place."""
    import warnings

    from qdrant_client import QdrantClient, models

    chunks, vectors = library
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = QdrantClient(path=str(location.path))
    old.create_collection(
        location.collection,
        vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE),
    )
    documents = {"lib": (chunks, vectors), "other": (chunks[:3], vectors[:3])}
    for name, (cs, vs) in documents.items():
        doc = DocumentPoints(name, f"{name}.pptx", cs, vs)
        old.upsert(
            location.collection,
            [
                models.PointStruct(
                    id=point_id(name, c), vector=v.tolist(), payload=chunk_payload(doc, c, MODEL)
                )
                for c, v in zip(cs, vs)
            ],
        )
    old.close()
    assert (location.path / "meta.json").is_file()

    with open_index(location) as index:
        assert index.documents() == {"lib": len(chunks), "other": 3}
        assert index.point_ids("lib") == {point_id("lib", c) for c in chunks}
        assert index.dimension() == 384
        query = "Okonkwo-Rasmussen"
        hits = index.search(minilm.embed_queries([query])[0], 3, query)
        assert hits[0].text == CODES[4][1]  # found by its words: BM25 was computed
        top = index.search(vectors[2], 1)[0]  # the stored vectors, unchanged
        assert top.text == chunks[2].text and top.score > 0.999
    # The old files are still there; the next opening does not copy again.
    assert (location.path / "collection" / location.collection / "storage.sqlite").is_file()
    with open_index(location) as index:
        index.delete_document("other")
    with open_index(location) as index:
        assert index.documents() == {"lib": len(chunks)}


def test_search_modes_and_scores_a_person_can_read(store, minilm, library):
    """dense, sparse and hybrid each rank; hybrid scores are the cosine plus the exact-word
    bonus, in the order they print, and a question in other words ranks first what dense alone
    ranks first."""
    chunks, vectors = library
    with store() as index:
        index.replace_document("lib", "lib.pptx", chunks, vectors, MODEL)
    with store() as index:
        question = "how many people do we want to employ next year"
        vector = minilm.embed_queries([question])[0]
        dense = index.search(vector, 5, question, mode="dense")
        hybrid = index.search(vector, 5, question)
        assert hybrid[0].text == dense[0].text == TOPICS[4][1]
        # The cosine, plus at most 0.02 for the few common words it shares with the question.
        assert 0 <= hybrid[0].score - dense[0].score <= 0.02 + 1e-6
        name = "Okonkwo-Rasmussen"
        vector = minilm.embed_queries([name])[0]
        found = index.search(vector, 5, name)
        assert found[0].text == CODES[4][1]
        # Every word held by the best lexical hit: 0.3 on top of its cosine.
        cosine = index.search(vector, len(chunks), name, mode="dense")
        own = next(h.score for h in cosine if h.text == CODES[4][1])
        assert found[0].score == pytest.approx(own + 0.3, abs=1e-4)
        assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)
        assert index.search(vector, 3, name, mode="sparse")[0].text == CODES[4][1]
        with pytest.raises(ValueError):
            index.search(vector, 5, name, mode="bm42")


def test_results_can_be_kept_to_some_documents_or_files(store, minilm, library):
    chunks, vectors = library
    with store() as index:
        index.replace_document("lib", "lib.pptx", chunks, vectors, MODEL)
        index.replace_document("other", "other.pptx", chunks[:3], vectors[:3], MODEL)
    with store() as index:
        vector = minilm.embed_queries(["Q3 revenue"])[0]
        for kept in (
            index.search(vector, 10, "Q3 revenue", documents=["other"]),
            index.search(vector, 10, "Q3 revenue", files=["other.pptx"]),
            index.search(vector, 10, "Q3 revenue", mode="dense", documents=["other"]),
        ):
            assert kept and {h.document for h in kept} == {"other"}
        assert index.search(vector, 10, "Q3 revenue", documents=["nothing"]) == []
