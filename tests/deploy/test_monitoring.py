"""The monitoring profile, checked against real parts: Debian's promtool on the alert rules (a
unit test per alert, firing and not), and a real Prometheus scraping a real node-exporter whose
textfile collector reads what a real local deployment (dagster-daemon, sensors, runs) wrote,
with every Grafana panel's query answered from it.

What this does not prove: the DCGM exporter. No GPU here: its three series are written by the
test, under the names and labels dcgm-exporter uses, so the GPU panels and the idle-GPU alert are
checked for their queries, not for the exporter. Grafana itself is not run (not packaged here):
its panels are checked by running their queries against Prometheus.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.paths import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "osmose.json"
TOOLS = {
    "promtool": "/usr/bin/promtool",
    "prometheus": "/usr/bin/prometheus",
    "node-exporter": "/usr/bin/prometheus-node-exporter",
}
LAST_SUCCESS = "osmose_last_successful_ingest_timestamp_seconds"
GPU_STAND_IN = """\
# Written by tests/deploy/test_monitoring.py in place of NVIDIA's DCGM exporter (no GPU here).
DCGM_FI_DEV_GPU_UTIL{gpu="0",modelName="stand-in"} 87
DCGM_FI_DEV_FB_USED{gpu="0",modelName="stand-in"} 20480
DCGM_FI_DEV_GPU_TEMP{gpu="0",modelName="stand-in"} 61
"""


def _tool(name: str) -> str:
    path = TOOLS[name]
    if not Path(path).exists():
        pytest.fail(
            f"{path} is missing: scripts/test.sh installs Debian's prometheus and "
            "prometheus-node-exporter (apt-get install -y prometheus prometheus-node-exporter)"
        )
    return path


def _alerts() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule["alert"] for group in rules["groups"] for rule in group["rules"]]


def test_the_alert_rules_are_valid_and_each_fires_exactly_when_it_should():
    promtool = _tool("promtool")
    checked = subprocess.run(
        [promtool, "check", "rules", "alerts.yml"],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # Every alert has a case where it fires and one where it stays quiet.
    cases = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    firing, quiet = set(), set()
    for case in cases:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert firing == quiet == set(_alerts())
    # Each alert tells the person on call what happened and what to do.
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"][0]["rules"]
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 80


def test_the_prometheus_config_is_valid():
    checked = subprocess.run(
        [_tool("promtool"), "check", "config", "prometheus.yml"],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_panel_has_data_from_a_real_prometheus_after_real_runs(tmp_path, sample_decks):
    from tests.support.deployment import Deployment, wait_for

    for name in TOOLS:
        _tool(name)
    deployment = Deployment(tmp_path, OSMOSE_GPUS="cpu:1", OSMOSE_STABLE_SECONDS="1")
    metrics = deployment.home / "metrics"
    deployment.start_daemon()
    try:
        for deck in list(sample_decks.values())[:2]:
            shutil.copyfile(deck, deployment.inbox / deck.name)
        (deployment.inbox / "not a deck.pptx").write_text("meeting notes")
        # The batch with the bad deck fails (counted by class), the good decks are run again
        # without it and indexed (recorded by slot), and a sensor tick after that records the
        # success (a tick written before it has no time of the last success yet).
        wait_for(
            lambda: (
                _counter(metrics, 'outcome="succeeded"') >= 1
                and _counter(metrics, 'error_class="NotAPresentationError"') >= 1
                and (metrics / "osmose_run_slot_cpu-0.prom").exists()
                and _has_sample(metrics / "osmose_inbox.prom", LAST_SUCCESS)
            ),
            600,
            "the runs' and the sensor's metrics files",
            interval_s=2,
        )
        (metrics / "gpu_stand_in.prom").write_text(GPU_STAND_IN)

        exporter_port, prometheus_port = _free_port(), _free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
                    "scrape_configs": [
                        {
                            "job_name": "node",
                            "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
                        }
                    ],
                }
            )
        )
        deployment._spawn(
            "node-exporter",
            [
                TOOLS["node-exporter"],
                f"--web.listen-address=127.0.0.1:{exporter_port}",
                f"--collector.textfile.directory={metrics}",
            ],
        )
        deployment._spawn(
            "prometheus",
            [
                TOOLS["prometheus"],
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
        )
        query = _querier(prometheus_port)
        wait_for(
            lambda: _has_data(query, "osmose_inbox_decks") and _scrapes(query) >= 4,
            120,
            "Prometheus to scrape node-exporter a few times",
            interval_s=1,
        )

        dashboard = json.loads(DASHBOARD.read_text())
        empty = []
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                answer = query("/api/v1/query", {"query": target["expr"]})
                result = answer["data"]["result"] if answer["status"] == "success" else []
                if not result:
                    empty.append(f"{panel['title']}: {target['expr']}")
                # What each panel shows (pytest -s): its query, its series, the first value.
                first = result[0]["value"][1] if result else "-"
                print(f"{panel['title']} | {target['expr']} | {len(result)} series | {first}")
        assert empty == [], "panels without data"

        # What the project wrote is what a user would expect of these runs.
        assert _value(query, 'osmose_run_used_cpu{slot="cpu-0"}') == 1  # a CPU slot: expected
        assert _value(query, 'osmose_run_info{slot="cpu-0"}') == 1
        assert _value(query, 'osmose_run_info{slot="cpu-0",device="cpu"}') == 1
        # The sensor's batch failed on the bad file, and was run again without it by a sensor.
        launchers = 'launched_by=~"sensor|rerun_batch_without_bad_documents"'
        assert _value(query, f'osmose_run_info{{slot="cpu-0",{launchers}}}') == 1
        assert _value(query, "osmose_gpu_slots") == 0
        # The sensor's next tick counts both decks indexed (it ticks every 15 s).
        wait_for(lambda: _value(query, "osmose_index_documents") == 2, 60, "2 documents", 2)
        assert _value(query, "max(osmose_index_points)") >= 2
        assert _value(query, 'osmose_run_texts_per_second{slot="cpu-0"}') > 0
        assert _value(query, 'osmose_run_stage_seconds{stage="topic_segments"}') > 0
        # The rules load, and on this CPU-only deployment with fresh runs none fires.
        rules = query("/api/v1/rules", {})["data"]["groups"][0]["rules"]
        assert {rule["name"] for rule in rules} == set(_alerts())
        assert all(rule["health"] == "ok" for rule in rules), rules
        firing = query("/api/v1/query", {"query": 'ALERTS{alertstate="firing"}'})
        assert firing["data"]["result"] == []
    finally:
        deployment.stop()


def _counter(folder: Path, labels: str) -> float:
    path = folder / "osmose_runs_total.prom"
    if not path.exists():
        return 0
    for line in path.read_text().splitlines():
        if labels in line and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _querier(port: int):
    def query(path: str, params: dict[str, str]) -> dict:
        url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            return {"status": "down", "data": {"result": [], "groups": [{"rules": []}]}}

    return query


def _has_sample(path: Path, name: str) -> bool:
    if not path.exists():
        return False
    return any(line.startswith(f"{name} ") for line in path.read_text().splitlines())


def _has_data(query, expr: str) -> bool:
    answer = query("/api/v1/query", {"query": expr})
    return answer["status"] == "success" and bool(answer["data"]["result"])


def _value(query, expr: str) -> float:
    result = query("/api/v1/query", {"query": expr})["data"]["result"]
    assert result, f"no data for {expr}"
    return float(result[0]["value"][1])


def _scrapes(query) -> float:
    result = query("/api/v1/query", {"query": 'count_over_time(up{job="node"}[1m])'})
    return (
        float(result["data"]["result"][0]["value"][1])
        if result.get("data", {}).get("result")
        else 0
    )
