"""What is reachable from outside: read statically from the files that start the services.

Proves: `make ui` (scripts/ui.sh) binds the webserver to 127.0.0.1; every compose file (base,
CPU override, and the two merged) publishes ports on 127.0.0.1 only, and never the code
server's gRPC port or Postgres; services inside containers listen on 0.0.0.0, which is only
reachable through those loopback-published ports or the compose network.
Does not prove: what a running `dg dev` or Docker actually binds (no process is started, no
Docker engine here), nor anything about a reverse proxy placed in front.
"""

from __future__ import annotations

import re
import shlex

import yaml

from tests.support.paths import REPO_ROOT


def test_the_local_ui_binds_loopback_only():
    script = (REPO_ROOT / "scripts" / "ui.sh").read_text()
    launches = [
        line
        for line in script.splitlines()
        if re.search(r"\b(dagster|dg)\"?\s+dev\b|dagster-webserver", line)
        and not line.lstrip().startswith("#")
    ]
    assert launches, "scripts/ui.sh starts no webserver"
    for line in launches:
        words = shlex.split(line)
        host = words[words.index("-h") + 1] if "-h" in words else words[words.index("--host") + 1]
        assert host == "127.0.0.1", line


def test_compose_publishes_on_loopback_only():
    files = sorted(REPO_ROOT.glob("docker-compose*.yml"))
    assert {f.name for f in files} >= {"docker-compose.yml", "docker-compose.cpu.yml"}
    for path in files:
        services = (yaml.safe_load(path.read_text()) or {}).get("services", {})
        for name, service in services.items():
            for port in service.get("ports", []) or []:
                text = (
                    port
                    if isinstance(port, str)
                    else f"{port.get('host_ip')}:{port.get('published')}"
                )
                assert text.startswith("127.0.0.1:"), f"{path.name}: {name} publishes {port}"
            if name in ("code", "postgres", "daemon"):
                assert not service.get("ports"), f"{path.name}: {name} must not be published"
            if "expose" in service:
                assert all("0.0.0.0" not in str(p) for p in service["expose"])
    webserver = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"][
        "webserver"
    ]
    assert webserver["ports"] == ["127.0.0.1:3000:3000"]
