"""The local Dagster instance's home (DAGSTER_HOME), made ready before the UI, the daemon or the
`osmose` CLI open it.

Its dagster.yaml is a link to osmose's (osmose_dagster/instance/dagster.yaml), so an edit of
osmose's file applies at the next start. A home whose dagster.yaml is a file of its own (edited
there, or copied by an older version of osmose) is left alone, and each start says that it
differs from osmose's and how.

Run as `python -m osmose_dagster.instance.home` (scripts/ui.sh does): prepares $DAGSTER_HOME,
prints what differs, if anything, on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from osmose_dagster.core.settings import Settings

OSMOSE_DAGSTER_YAML = Path(__file__).resolve().with_name("dagster.yaml")


def prepare_dagster_home(home: Path) -> str | None:
    """Create `home` with a dagster.yaml that follows osmose's; returns a note for the user when
    the home keeps a dagster.yaml of its own that differs from osmose's, else None."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if config.is_symlink() and config.resolve() == OSMOSE_DAGSTER_YAML:
        return None
    own_file = config.exists() and not config.is_symlink()
    if own_file and config.read_bytes() != OSMOSE_DAGSTER_YAML.read_bytes():
        return _differs_note(config)
    # Absent, a dangling link (the checkout moved), a link elsewhere, or a copy equal to ours.
    staging = home / ".dagster.yaml.link"
    staging.unlink(missing_ok=True)
    staging.symlink_to(OSMOSE_DAGSTER_YAML)
    os.replace(staging, config)
    return None


def _differs_note(config: Path) -> str:
    try:
        theirs = yaml.safe_load(config.read_text()) or {}
    except yaml.YAMLError as error:
        return f"{config} is not valid YAML ({error}); Dagster will refuse to start on it"
    ours = yaml.safe_load(OSMOSE_DAGSTER_YAML.read_text()) or {}
    keys = sorted(key for key in set(ours) | set(theirs) if ours.get(key) != theirs.get(key)) or [
        "comments only"
    ]
    return (
        f"Dagster uses {config}, a file of this instance's own that differs from osmose's "
        f"{OSMOSE_DAGSTER_YAML} in: {', '.join(keys)}. Keep it to keep its settings; delete it "
        "to follow osmose's (the next start links it)."
    )


def seed_run_retry_cursors(home: Path) -> None:
    """Give the daemon's run-retry consumer its starting point on a new instance.

    Without one, the daemon logs a warning per event type at its first start ("No cursor ...,
    ignoring older events") that a new user has no reason to act on. The seed is the value it
    would choose itself: the newest event at that moment, so no older run is retried."""
    from dagster import DagsterInstance

    from osmose_dagster.instance.dagster_private import (
        RUN_RETRY_EVENT_TYPES,
        run_retry_cursor_key,
    )

    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.daemon_cursor_storage
        keys = {run_retry_cursor_key(event_type) for event_type in RUN_RETRY_EVENT_TYPES}
        missing = keys - set(storage.get_cursor_values(keys))
        if missing:
            newest = instance.event_log_storage.get_maximum_record_id() or 0
            storage.set_cursor_values(dict.fromkeys(missing, str(newest)))


def main() -> int:
    home = Settings.from_env().dagster_home
    note = prepare_dagster_home(home)
    if note:
        print(f"note: {note}", file=sys.stderr)
    seed_run_retry_cursors(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
