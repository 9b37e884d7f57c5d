"""The scheduled re-index extracts decks again when their slides' text would change (OCR turned on
or off, its languages, a new pipeline version), then re-embeds them; evaluated tick by tick on a
real instance with Dagster's own automation evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import AssetKey, AssetMaterialization, DagsterInstance, evaluate_automation_conditions

from osmose_dagster.core.ops.dagster_names import ASSET_NAMES, EXTRACTED_SLIDES, RAW_DOCUMENTS
from osmose_dagster.core.settings import Settings
from osmose_dagster.definitions import build_definitions

DECK = "review.pptx"
NEW = "new.pptx"  # in the inbox, never ingested: left to the drop-folder sensor


def _definitions(home, **env):
    return build_definitions(Settings.from_env({"OSMOSE_HOME": str(home), **env}))


def _materialized(instance: DagsterInstance, names) -> None:
    for name in names:
        instance.report_runless_asset_event(AssetMaterialization(AssetKey(name), partition=DECK))


def _requested(result) -> dict[str, set[str]]:
    return {
        key.to_user_string(): set(result.get_requested_partitions(key))
        for key in (AssetKey(name) for name in ASSET_NAMES)
        if result.get_requested_partitions(key)
    }


def test_turning_ocr_on_re_extracts_and_re_embeds_indexed_decks_at_the_next_tick(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("documents", [DECK, NEW])
        _materialized(instance, ASSET_NAMES)
        instance.report_runless_asset_event(
            AssetMaterialization(AssetKey(RAW_DOCUMENTS), partition=NEW)
        )
        reindexed = {name: {DECK} for name in ASSET_NAMES if name != RAW_DOCUMENTS}
        off = _definitions(tmp_path, OSMOSE_OCR="off")
        night = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # the cron is 03:00

        first = evaluate_automation_conditions(defs=off, instance=instance, evaluation_time=night)
        assert _requested(first) == {}  # no cron tick yet
        # The first deployment with a re-extraction re-extracts the decks indexed before it once.
        upgrade = evaluate_automation_conditions(
            defs=off,
            instance=instance,
            evaluation_time=night + timedelta(hours=2, minutes=1),
            cursor=first.cursor,
        )
        assert _requested(upgrade) == reindexed
        _materialized(instance, list(reindexed))
        quiet = evaluate_automation_conditions(
            defs=off,
            instance=instance,
            evaluation_time=night + timedelta(days=1, hours=2, minutes=1),
            cursor=upgrade.cursor,
        )
        assert _requested(quiet) == {}  # nothing changed: nothing redone

        on = _definitions(tmp_path)  # OSMOSE_OCR unset: on
        deployed = evaluate_automation_conditions(
            defs=on,
            instance=instance,
            evaluation_time=night + timedelta(days=1, hours=5),
            cursor=quiet.cursor,
        )
        assert _requested(deployed) == {}  # waits for the cron
        tick = evaluate_automation_conditions(
            defs=on,
            instance=instance,
            evaluation_time=night + timedelta(days=2, hours=2, minutes=1),
            cursor=deployed.cursor,
        )
        assert _requested(tick) == reindexed
        assert EXTRACTED_SLIDES in _requested(tick)
