"""Which parts of a failed batch run again: the ranges between its bad decks."""

from osmose_dagster.core.ops.batches import group_for_runs, ranges_without

KEYS = ["a.pptx", "b.pptx", "c.pptx", "d.pptx", "e.pptx", "f.pptx"]


def test_a_bad_deck_in_the_middle_leaves_the_ranges_on_either_side():
    batch = KEYS[:5]
    assert ranges_without(KEYS, batch, {"c.pptx"}) == [("a.pptx", "b.pptx"), ("d.pptx", "e.pptx")]


def test_bad_decks_at_the_ends_and_side_by_side_are_left_out():
    bad = {"a.pptx", "c.pptx", "d.pptx", "f.pptx"}
    assert ranges_without(KEYS, KEYS, bad) == [("b.pptx", "b.pptx"), ("e.pptx", "e.pptx")]


def test_keys_outside_the_batch_are_never_requested():
    batch = ["b.pptx", "c.pptx", "d.pptx"]
    assert ranges_without(KEYS, batch, {"c.pptx"}) == [("b.pptx", "b.pptx"), ("d.pptx", "d.pptx")]


def test_a_batch_of_only_bad_decks_runs_nothing_again():
    assert ranges_without(KEYS, ["b.pptx", "c.pptx"], ["b.pptx", "c.pptx"]) == []


def test_a_deck_removed_since_is_not_requested_and_does_not_split_its_neighbours():
    remaining = [key for key in KEYS if key != "d.pptx"]
    assert ranges_without(remaining, KEYS[:5], {"b.pptx"}) == [
        ("a.pptx", "a.pptx"),
        ("c.pptx", "e.pptx"),
    ]


def test_a_bulk_drop_is_split_into_runs_of_at_most_the_batch_size_of_near_equal_size():
    keys = [f"{n:02d}.pptx" for n in range(50)]
    groups = group_for_runs(keys, max_per_run=25, slots=1)
    assert [len(g) for g in groups] == [25, 25]
    assert [k for g in groups for k in g] == keys  # order kept: each group is a range
    assert [len(g) for g in group_for_runs(keys[:26], max_per_run=25, slots=1)] == [13, 13]


def test_every_slot_gets_a_run_while_there_are_decks_enough():
    keys = [f"{n}.pptx" for n in range(5)]
    assert [len(g) for g in group_for_runs(keys, max_per_run=25, slots=2)] == [3, 2]
    assert [len(g) for g in group_for_runs(keys[:1], max_per_run=25, slots=4)] == [1]


def test_a_batch_size_of_one_is_a_run_per_deck():
    keys = ["a.pptx", "b.pptx", "c.pptx"]
    assert group_for_runs(keys, max_per_run=1, slots=1) == [["a.pptx"], ["b.pptx"], ["c.pptx"]]
    assert group_for_runs([], max_per_run=25, slots=2) == []
