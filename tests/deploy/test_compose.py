"""docker-compose.yml (+ docker-compose.cpu.yml), the Dockerfile and deploy/dagster.yaml, read as
docker compose reads them (PyYAML with merge keys, then `${VAR:-default}` interpolation), checked
for what a deployment depends on. No Docker engine runs here: image builds and `docker compose
up` are not exercised; the healthcheck commands of Qdrant and the webserver are run against stub
HTTP servers, and the code server's and daemon's ones in test_production_instance.py.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from osmose_dagster.core.ops import compute_slots
from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.instance.home import OSMOSE_DAGSTER_YAML
from osmose_dagster.instance.run_launcher import device_requests_for

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_SERVICES = ["code", "webserver", "daemon"]
ALWAYS_UP = ["postgres", "qdrant", *DAGSTER_SERVICES]
# The `monitoring` profile's services, each with its image pinned to a release.
MONITORING = {
    "node-exporter": r"prom/node-exporter:v\d+\.\d+\.\d+",
    "dcgm-exporter": r"nvcr\.io/nvidia/k8s/dcgm-exporter:\d+\.\d+\.\d+-\d+\.\d+\.\d+-ubuntu\d+\.\d+",
    "prometheus": r"prom/prometheus:v\d+\.\d+\.\d+",
    "grafana": r"grafana/grafana:\d+\.\d+\.\d+",
}
ENV = {"POSTGRES_PASSWORD": "s3cret"}  # the one variable a deployment must set


def _interpolate(value, env: dict[str, str]):
    """docker compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$`."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name) or ""
        if op == ":?" and not current:
            raise ValueError(f"{name}: {arg}")
        return current or (arg if op == ":-" else "")

    parts = value.split("$$")
    return "$".join(re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, p) for p in parts)


def _merge(base, override):
    """A compose override: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base[k], v) if k in base else v for k, v in {**base, **override}.items()}
    return override


def _compose(*files: str, env: dict[str, str] | None = None) -> dict:
    merged: dict = {}
    for name in files:
        merged = _merge(merged, yaml.safe_load((REPO_ROOT / name).read_text()))
    return _interpolate(merged, {**ENV, **(env or {})})


@pytest.fixture(scope="module")
def compose() -> dict:
    return _compose("docker-compose.yml")


@pytest.fixture(scope="module")
def launcher() -> dict:
    return yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())["run_launcher"]


def test_services_images_and_commands(compose):
    services = compose["services"]
    assert set(ALWAYS_UP) <= set(services)
    assert set(services) - set(ALWAYS_UP) == {"gpu-check", *MONITORING}
    assert services["gpu-check"]["profiles"] == ["gpu-check"]  # not started by `up`
    for name in MONITORING:  # nor are these: `--profile monitoring`
        assert services[name]["profiles"] == ["monitoring"]

    # Third-party images pinned to a release, never a moving tag.
    assert re.fullmatch(r"postgres:\d+\.\d+", services["postgres"]["image"])
    assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", services["qdrant"]["image"])
    for name, image in MONITORING.items():
        assert re.fullmatch(image, services[name]["image"]), services[name]["image"]

    for name in DAGSTER_SERVICES:
        service = services[name]
        assert service["image"] == "osmose-dagster:latest"
        assert service["build"]["context"] == "."
        assert service["restart"] == "unless-stopped"

    assert services["code"]["command"] == [
        "dagster",
        "code-server",
        "start",
        "-h",
        "0.0.0.0",
        "-p",
        "4000",
        "-m",
        "osmose_dagster.definitions",
        "--location-name",
        "osmose_dagster",
    ]
    assert services["webserver"]["command"] == [
        "dagster-webserver",
        "-h",
        "0.0.0.0",
        "-p",
        "3000",
        "-w",
        "deploy/workspace.yaml",
    ]
    assert services["daemon"]["command"] == ["dagster-daemon", "run", "-w", "deploy/workspace.yaml"]

    # The workspace both load points at the code service, by its compose name and port.
    workspace = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.yaml").read_text())
    assert workspace["load_from"] == [
        {"grpc_server": {"host": "code", "port": 4000, "location_name": "osmose_dagster"}}
    ]


def test_one_image_tag_for_the_code_server_and_the_run_containers(launcher):
    compose = _compose("docker-compose.yml", env={"OSMOSE_IMAGE_TAG": "2026.11.3"})
    image = "osmose-dagster:2026.11.3"
    for name in DAGSTER_SERVICES:
        assert compose["services"][name]["image"] == image
        # The code server reports DAGSTER_CURRENT_IMAGE as its code's image, which
        # DockerRunLauncher prefers; the launcher's own `image` is the same variable.
        assert compose["services"][name]["environment"]["DAGSTER_CURRENT_IMAGE"] == image
    assert launcher["config"]["image"] == {"env": "DAGSTER_CURRENT_IMAGE"}
    assert "DAGSTER_CURRENT_IMAGE" in launcher["config"]["env_vars"]


def test_nothing_starts_before_what_it_needs_is_healthy(compose):
    services = compose["services"]
    for name in ALWAYS_UP:
        check = services[name]["healthcheck"]["test"]
        assert check[0] in ("CMD", "CMD-SHELL") and len(check) > 1, name
    needs = {name: services[name].get("depends_on", {}) for name in ALWAYS_UP}
    for name, deps in needs.items():
        assert all(dep["condition"] == "service_healthy" for dep in deps.values()), name
    assert set(needs["code"]) == {"postgres", "qdrant"}  # sensors read the index
    assert set(needs["webserver"]) == {"postgres", "code"}
    assert set(needs["daemon"]) == {"postgres", "qdrant", "code"}
    assert needs["postgres"] == needs["qdrant"] == {}

    assert services["code"]["healthcheck"]["test"] == [
        "CMD",
        "dagster",
        "api",
        "grpc-health-check",
        "-p",
        "4000",
    ]
    assert services["daemon"]["healthcheck"]["test"] == ["CMD", "dagster-daemon", "liveness-check"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]


def test_only_loopback_ports_are_published(compose):
    published = {
        name: service["ports"]
        for name, service in compose["services"].items()
        if "ports" in service
    }
    assert published["webserver"] == ["127.0.0.1:3000:3000"]
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "ports" not in compose["services"]["postgres"]


def test_volumes_of_the_services_and_of_the_run_containers(compose, launcher):
    services = compose["services"]
    volumes = compose["volumes"]
    # Fixed names, so that deploy/dagster.yaml can mount the same ones into run containers.
    names = {key: spec["name"] for key, spec in volumes.items()}
    assert names == {
        "postgres": "osmose_postgres",
        "qdrant": "osmose_qdrant",
        "qdrant_snapshots": "osmose_qdrant_snapshots",
        "data": "osmose_data",
        "dagster_storage": "osmose_dagster_storage",
        "inbox": "osmose_inbox",
        "models": "osmose_models",
        "prometheus": "osmose_prometheus",
        "grafana": "osmose_grafana",
    }
    # The drop folder and the model cache are host folders.
    assert volumes["inbox"]["driver_opts"] == {
        "type": "none",
        "o": "bind",
        "device": "/srv/osmose/inbox",
    }
    assert volumes["models"]["driver_opts"]["device"] == "/srv/osmose/models"
    custom = _compose("docker-compose.yml", env={"OSMOSE_MODELS_DIR": "/mnt/models"})
    assert custom["volumes"]["models"]["driver_opts"]["device"] == "/mnt/models"

    assert "postgres:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "qdrant:/qdrant/storage" in services["qdrant"]["volumes"]
    assert {"data:/data", "inbox:/data/inbox"} <= set(services["code"]["volumes"])  # the sensor
    for name in ["webserver", "daemon"]:  # the launcher talks to the engine; logs are shared
        assert "/var/run/docker.sock:/var/run/docker.sock" in services[name]["volumes"]
        assert "dagster_storage:/opt/dagster/home/storage" in services[name]["volumes"]
    assert "/var/run/docker.sock:/var/run/docker.sock" not in services["code"]["volumes"]

    run_volumes = launcher["config"]["container_kwargs"]["volumes"]
    assert run_volumes == [
        "osmose_data:/data",
        "osmose_inbox:/data/inbox",
        "osmose_models:/models:ro",
        "osmose_dagster_storage:/opt/dagster/home/storage",
    ]
    assert {v.split(":")[0] for v in run_volumes} <= set(names.values())
    assert launcher["config"]["network"] == compose["networks"]["default"]["name"] == "osmose"


def test_run_containers_get_every_variable_they_are_promised(compose, launcher):
    """DockerRunLauncher takes a bare NAME from the daemon's environment and fails if unset."""
    daemon_env = compose["services"]["daemon"]["environment"]
    assert set(launcher["config"]["env_vars"]) <= set(daemon_env)
    for name in DAGSTER_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["OSMOSE_DEPLOYMENT"] == "production"
        assert env["QDRANT_URL"] == "http://qdrant:6333"
        assert env["DAGSTER_POSTGRES_HOST"] == "postgres"
        assert env["DAGSTER_POSTGRES_PASSWORD"] == "s3cret"
        assert env["OSMOSE_GPUS"] == "0"
        assert env["OSMOSE_MODEL"] == "intfloat/multilingual-e5-large"
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        _compose("docker-compose.yml", env={"POSTGRES_PASSWORD": ""})


def test_gpus_are_requested_per_run_by_the_launcher_not_by_the_services(compose, launcher):
    services = compose["services"]
    for name in ALWAYS_UP:
        assert "deploy" not in services[name], f"{name} would hold GPUs for its whole life"
        assert "runtime" not in services[name]
    assert launcher["module"] == "osmose_dagster.instance.run_launcher"
    assert launcher["class"] == "GpuDockerRunLauncher"
    assert "device_requests" not in launcher["config"]["container_kwargs"]
    # OSMOSE_GPUS=0,1 -> runs tagged 0 and 1 -> one device each.
    for slot in compute_slots(
        _compose("docker-compose.yml", env={"OSMOSE_GPUS": "0,1"})["services"]["daemon"][
            "environment"
        ]["OSMOSE_GPUS"]
    ):
        [request] = device_requests_for({SLOT_TAG: slot})
        assert request["DeviceIDs"] == [slot]
    # The optional check reserves every GPU, once, to show the toolkit works.
    [device] = services["gpu-check"]["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}


def test_the_cpu_override_runs_the_same_files_without_gpus():
    compose = _compose(
        "docker-compose.yml", "docker-compose.cpu.yml", env={"OSMOSE_CPU_SLOTS": "2"}
    )
    for name in DAGSTER_SERVICES:
        service = compose["services"][name]
        assert service["environment"]["OSMOSE_GPUS"] == "cpu:2"
        assert service["environment"]["OSMOSE_DEPLOYMENT"] == "production"  # rest kept
        assert service["build"]["args"]["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
        assert service["build"]["context"] == "."
    slots = compute_slots(compose["services"]["daemon"]["environment"]["OSMOSE_GPUS"])
    assert slots == ["cpu-0", "cpu-1"]
    assert all(device_requests_for({SLOT_TAG: slot}) == [] for slot in slots)


def test_the_dockerfile():
    text = (REPO_ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines()]
    assert "FROM python:3.11-slim" in lines
    assert lines[-1].startswith("CMD") or any(line.startswith("CMD") for line in lines)
    users = [line for line in lines if line.startswith("USER ")]
    assert users == ["USER osmose"]  # runs as non-root
    env = " ".join(line for line in lines if line.startswith("ENV "))
    for setting in [
        "OSMOSE_HOME=/data",
        "DAGSTER_HOME=/opt/dagster/home",
        "HF_HOME=/models",
        "HF_HUB_OFFLINE=1",
        "OSMOSE_MODEL=intfloat/multilingual-e5-large",
    ]:
        assert setting in env.split(), setting
    # The instance config is the production one; the workspace path of the commands resolves.
    assert 'cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"' in text
    assert "WORKDIR /opt/osmose" in lines and "COPY deploy ./deploy" in lines
    # The torch pin of the image is the project's.
    pinned = re.search(r'"(torch==[^"]+)"', (REPO_ROOT / "pyproject.toml").read_text()).group(1)
    assert f'ARG TORCH_SPEC="{pinned}"' in lines
    # OCR: the language data the default OSMOSE_OCR_LANGUAGES names.
    assert all(f"tesseract-ocr-{lang}" in text for lang in ("eng", "fra", "deu"))
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", "models", ".env"} <= set(ignored)


class _Stub(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status if self.path in ("/readyz", "/server_info") else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [200, 503])
def test_the_qdrant_and_webserver_healthchecks_work(compose, status):
    """The images lack curl and wget: the checks use bash (Qdrant) and Python (webserver)."""
    handler = type("Handler", (_Stub,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])
    try:
        qdrant = compose["services"]["qdrant"]["healthcheck"]["test"][1:]
        webserver = compose["services"]["webserver"]["healthcheck"]["test"][1:]
        webserver = [webserver[0].replace("python", sys.executable), *webserver[1:]]
        for check, default_port in [(qdrant, "6333"), (webserver, "3000")]:
            command = [part.replace(default_port, port) for part in check]
            result = subprocess.run(command, capture_output=True, timeout=20)
            assert (result.returncode == 0) == (status == 200), (command, result.stderr)
    finally:
        server.shutdown()


def test_the_production_instance_keeps_the_local_run_queue_and_retention():
    """deploy/dagster.yaml differs from dagster.yaml in storage and launcher, not in the queue."""
    local = yaml.safe_load((OSMOSE_DAGSTER_YAML).read_text())
    production = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    assert production["run_coordinator"] == local["run_coordinator"]
    assert production["retention"] == local["retention"]
    assert production["telemetry"] == {"enabled": False}
    db = production["storage"]["postgres"]["postgres_db"]
    assert {key: value for key, value in db.items() if key != "scheme"} == {
        "hostname": {"env": "DAGSTER_POSTGRES_HOST"},
        "port": {"env": "DAGSTER_POSTGRES_PORT"},
        "username": {"env": "DAGSTER_POSTGRES_USER"},
        "password": {"env": "DAGSTER_POSTGRES_PASSWORD"},
        "db_name": {"env": "DAGSTER_POSTGRES_DB"},
    }
    # SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3; dagster-postgres ships psycopg2.
    assert db["scheme"] == "postgresql+psycopg2"


def test_the_monitoring_profile_reads_the_projects_metrics_and_provisions_the_dashboard(compose):
    services = compose["services"]
    # node-exporter reads the text files where the code location and the run containers write
    # them: OSMOSE_METRICS_DIR unset, so $OSMOSE_HOME/metrics, on the data volume.
    exporter = services["node-exporter"]
    assert "--collector.textfile.directory=/data/metrics" in exporter["command"]
    assert "data:/data:ro" in exporter["volumes"] and "data:/data" in services["code"]["volumes"]
    assert "OSMOSE_METRICS_DIR" not in services["code"]["environment"]
    # Prometheus gets the repo's config and rules, and keeps its data in a volume.
    prometheus = services["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "prometheus:/prometheus" in prometheus["volumes"]
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert all((REPO_ROOT / "deploy" / "prometheus" / f).exists() for f in config["rule_files"])
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets["node"] == ["node-exporter:9100"] and targets["dcgm"] == ["dcgm-exporter:9400"]
    # Grafana: the data source the dashboard names, provisioned with it.
    grafana = services["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "grafana:/var/lib/grafana" in grafana["volumes"]
    sources = yaml.safe_load(
        (REPO_ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"]
    assert [(s["uid"], s["url"]) for s in sources] == [("prometheus", "http://prometheus:9090")]
    dashboard = json.loads((REPO_ROOT / "deploy/grafana/dashboards/osmose.json").read_text())
    used = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert used == {"prometheus"}
    # The DCGM exporter needs the GPUs; a CPU-only host leaves it out of the profile.
    dcgm = services["dcgm-exporter"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert dcgm["driver"] == "nvidia" and "gpu" in dcgm["capabilities"]
    cpu = _compose("docker-compose.yml", "docker-compose.cpu.yml")
    assert cpu["services"]["dcgm-exporter"]["profiles"] != ["monitoring"]
    assert cpu["services"]["prometheus"]["profiles"] == ["monitoring"]
