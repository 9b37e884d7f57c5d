"""What a drop-folder tick that starts no run says in the UI (its skip reason), on a real Dagster
instance, a real inbox, and the code location as it loads: a new user's first minutes."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from dagster import instance_for_test

from osmose_dagster.core.settings import Settings
from osmose_dagster.definitions import build_definitions
from tests.support.sensor_ticks import SensorTicks


@pytest.fixture
def fresh(osmose_home, monkeypatch):
    """A home with nothing in it, the code location loaded on it as `make ui` does."""
    monkeypatch.setenv("OSMOSE_STABLE_SECONDS", "5")
    settings = Settings.from_env()
    assert not settings.inbox.exists()
    defs = build_definitions(settings)
    with instance_for_test() as instance:
        yield settings, SensorTicks(defs, instance)


def test_loading_the_code_location_creates_the_drop_folder_and_an_empty_one_says_so(fresh):
    settings, ticks = fresh
    assert settings.inbox.is_dir()
    tick = ticks.tick()
    assert tick.run_requests == []
    assert tick.skip_message == f"inbox {settings.inbox} is empty: drop .pptx decks into it"


def test_an_inbox_that_cannot_be_listed_says_why_on_every_tick(fresh):
    settings, ticks = fresh
    shutil.rmtree(settings.inbox)
    for _ in range(2):  # the daemon log warns once; the tick says it every time
        message = ticks.tick().skip_message
        assert message.startswith(f"inbox {settings.inbox} cannot be listed: "), message
        assert "No such file or directory" in message


def test_decks_still_being_written_are_named_with_the_delay_they_wait_for(fresh, sample_decks):
    settings, ticks = fresh
    for name in ["ml_platform_onboarding_en.pptx", "energie_renouvelable_fr.pptx"]:
        shutil.copyfile(sample_decks[name], settings.inbox / name)
    message = ticks.tick().skip_message
    assert message == (
        "2 deck(s) waiting to hold still for 5 s (OSMOSE_STABLE_SECONDS): "
        "energie_renouvelable_fr.pptx, ml_platform_onboarding_en.pptx"
    )


def test_a_tick_after_the_runs_were_requested_says_nothing_is_new(fresh, sample_decks):
    settings, ticks = fresh
    deck = settings.inbox / "ml_platform_onboarding_en.pptx"
    shutil.copyfile(sample_decks[deck.name], deck)
    old = time.time_ns() - 60 * 1_000_000_000
    os.utime(deck, ns=(old, old))
    ticks.tick()  # first sight
    assert [r.partition_key for r in ticks.tick().run_requests] == [deck.name]
    assert ticks.tick().skip_message == "1 deck(s) in the inbox, none new or changed"
    os.utime(deck)  # touched, same bytes: held still again after the delay, then read
    os.utime(deck, ns=(old + 1, old + 1))
    ticks.tick()
    assert ticks.tick().skip_message == (
        "1 touched, same content: ml_platform_onboarding_en.pptx; "
        "1 deck(s) in the inbox, none new or changed"
    )
