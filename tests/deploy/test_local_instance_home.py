"""The local Dagster instance's home (instance/home.py) and its run coordinator's tags, on a real
DagsterInstance loaded from osmose's dagster.yaml (SQLite under a temporary DAGSTER_HOME).

Not proven here: that the UI's start log is clean (tests/ui/test_ui_browser.py starts `make ui`'s
script and reads it)."""

from __future__ import annotations

import os
import shutil

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, SubmitRunContext
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.utils import make_new_run_id

from osmose_dagster.core.ops.dagster_names import LAUNCHED_BY_TAG, SLOT_TAG
from osmose_dagster.instance.dagster_private import RUN_RETRY_EVENT_TYPES, run_retry_cursor_key
from osmose_dagster.instance.home import (
    OSMOSE_DAGSTER_YAML,
    prepare_dagster_home,
    seed_run_retry_cursors,
)


def test_a_new_home_links_osmose_dagster_yaml_so_later_edits_apply(tmp_path):
    home = tmp_path / "dagster"
    assert prepare_dagster_home(home) is None
    config = home / "dagster.yaml"
    assert config.is_symlink() and config.resolve() == OSMOSE_DAGSTER_YAML
    assert prepare_dagster_home(home) is None  # a second start changes nothing


def test_an_old_copy_equal_to_osmose_becomes_a_link_and_a_dangling_link_is_mended(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(OSMOSE_DAGSTER_YAML, home / "dagster.yaml")
    assert prepare_dagster_home(home) is None
    assert (home / "dagster.yaml").resolve() == OSMOSE_DAGSTER_YAML
    (home / "dagster.yaml").unlink()
    (home / "dagster.yaml").symlink_to(tmp_path / "moved-checkout" / "dagster.yaml")
    assert prepare_dagster_home(home) is None
    assert (home / "dagster.yaml").resolve() == OSMOSE_DAGSTER_YAML


def test_a_file_of_its_own_is_kept_and_the_note_names_what_differs(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    edited = OSMOSE_DAGSTER_YAML.read_text().replace("max_retries: 2", "max_retries: 5")
    (home / "dagster.yaml").write_text(edited)
    note = prepare_dagster_home(home)
    assert note is not None
    assert f"Dagster uses {home / 'dagster.yaml'}" in note
    assert "differs from osmose's" in note and "in: run_retries." in note
    assert (home / "dagster.yaml").read_text() == edited  # never overwritten


def test_the_osmose_cli_notes_a_differing_file_only_in_its_own_default_home(
    tmp_path, monkeypatch, capsys
):
    from osmose_dagster.cli.runner import ensure_dagster_home
    from osmose_dagster.core.settings import Settings

    monkeypatch.setenv("OSMOSE_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_dagster_home(Settings.from_env())
    assert home == tmp_path / "dagster" and os.environ["DAGSTER_HOME"] == str(home)
    assert (home / "dagster.yaml").resolve() == OSMOSE_DAGSTER_YAML
    assert capsys.readouterr().err == ""
    (home / "dagster.yaml").unlink()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.delenv("DAGSTER_HOME")  # ensure_dagster_home set it for this process
    ensure_dagster_home(Settings.from_env())
    assert "note: Dagster uses" in capsys.readouterr().err
    # A DAGSTER_HOME set on purpose (a production instance, say) is the user's: no note.
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(Settings.from_env())
    assert capsys.readouterr().err == ""


def test_seeded_run_retry_cursors_start_at_the_newest_event(tmp_path):
    home = tmp_path / "dagster"
    prepare_dagster_home(home)
    seed_run_retry_cursors(home)
    keys = {run_retry_cursor_key(event_type) for event_type in RUN_RETRY_EVENT_TYPES}
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.daemon_cursor_storage.get_cursor_values(keys) == dict.fromkeys(keys, "0")
        instance.daemon_cursor_storage.set_cursor_values(dict.fromkeys(keys, "7"))
    seed_run_retry_cursors(home)  # an existing cursor is the daemon's own: left alone
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.daemon_cursor_storage.get_cursor_values(keys) == dict.fromkeys(keys, "7")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"dagster/from_ui": "true"}, "ui"),
        ({"dagster/backfill": "abcd"}, "backfill"),
        ({"dagster/from_automation_condition": "true"}, "automation"),
        ({LAUNCHED_BY_TAG: "sensor", SLOT_TAG: "cpu-1"}, "sensor"),
        ({}, None),
    ],
)
def test_the_run_coordinator_says_who_launched_a_run_and_gives_it_a_slot(tmp_path, tags, expected):
    home = tmp_path / "dagster"
    prepare_dagster_home(home)
    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.add_run(
            DagsterRun(
                job_name="ingest_documents",
                run_id=make_new_run_id(),
                status=DagsterRunStatus.NOT_STARTED,
                tags=tags,
                # The queue wants to know where the job lives; the code server is not asked here.
                remote_job_origin=RemoteJobOrigin(
                    RemoteRepositoryOrigin(
                        RegisteredCodeLocationOrigin("osmose_dagster"), "__repository__"
                    ),
                    "ingest_documents",
                ),
            )
        )
        queued = instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))  # type: ignore[arg-type]
        assert queued.status == DagsterRunStatus.QUEUED
        assert queued.tags.get(LAUNCHED_BY_TAG) == expected
        assert queued.tags.get(SLOT_TAG) == tags.get(SLOT_TAG, "cpu-0")
