"""docker-compose.yml without Docker: its services, each command started locally, the Dockerfile.

There is no Docker engine here, so each service's command runs as a local
process with the compose file's own arguments (hosts and ports swapped for
local ones), which is what the image runs after installing the project as
the README does.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.shortrun import REPO

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
README = REPO / "README.md"
WORKLOAD = "workloads/attach_heavy.py"
#: pip options that change how, not what, is installed.
PIP_NOISE = {
    "--no-cache-dir",
    "-q",
    "--quiet",
    "--disable-pip-version-check",
    "--root-user-action=ignore",
    "-U",
    "--upgrade",
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _replace(command: list[str], name: str, value: str) -> list[str]:
    command = list(command)
    command[command.index(name) + 1] = value
    return command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_services_volume_and_wiring(services: dict[str, dict[str, Any]]) -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    assert set(services) == {"mariadb", "magnetodb", "locust-master", "locust-worker"}
    assert services["mariadb"]["image"].startswith(("mariadb:", "mysql:8"))
    for name in ("magnetodb", "locust-master", "locust-worker"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == "cinderbench:latest"
    assert (REPO / services["magnetodb"]["build"] / "Dockerfile").exists()
    assert "results" in document["volumes"]
    assert "results:/app/results" in services["locust-master"]["volumes"]
    master, worker = services["locust-master"]["command"], services["locust-worker"]["command"]
    for command in (master, worker):
        assert command[:3] == ["locust", "-f", WORKLOAD]
        sql, mdb = (
            urlsplit(_option(command, "--sql-url")),
            urlsplit(_option(command, "--magnetodb-url")),
        )
        assert sql.hostname == "mariadb"
        assert sql.password == services["mariadb"]["environment"]["MARIADB_ROOT_PASSWORD"]
        assert sql.path.lstrip("/") == services["mariadb"]["environment"]["MARIADB_DATABASE"]
        assert mdb.hostname == "magnetodb"
        assert str(mdb.port) == _option(services["magnetodb"]["command"], "--port")
        assert _option(command, "--backend") == "both"
    assert "--master" in master
    assert "--headless" in master
    assert "--worker" in worker
    assert _option(worker, "--master-host") == "locust-master"
    assert services["locust-master"]["depends_on"]["magnetodb"]["condition"] == "service_healthy"
    server = services["magnetodb"]["command"]
    if "--tokens" not in server:  # serve refuses 0.0.0.0 open unless told; then keep it local
        assert "--insecure-no-auth" in server
        assert all(port.startswith("127.0.0.1:") for port in services["magnetodb"]["ports"])


def test_every_command_exists_here(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "command" in service and name != "mariadb":
            assert shutil.which(service["command"][0]), f"{name}: {service['command'][0]} not found"
    assert (REPO / WORKLOAD).parent.is_dir()


def test_mariadb_accepts_the_services_options(services: dict[str, dict[str, Any]]) -> None:
    """The image runs ``mariadbd`` with these options; this machine's MariaDB must accept them."""
    server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    assert Path(server).exists(), "mariadbd is not installed (ci/test installs mariadb-server)"
    options = services["mariadb"]["command"]
    done = subprocess.run(
        [server, *options, "--verbose", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for option in options:
        name, _, value = option.lstrip("-").partition("=")
        expected = str(1024**3) if value.endswith("G") else value
        assert re.search(rf"^{re.escape(name)}\s+{re.escape(expected)}$", done.stdout, re.M), option


def _healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthcheck")
        status = connection.getresponse().status
        connection.close()
        return status == 200
    except OSError:
        return False


def test_magnetodb_service_serves_locally(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    port = _free_port()
    command = _replace(services["magnetodb"]["command"], "--port", str(port))
    command = _replace(command, "--data-dir", str(tmp_path / "magnetodb"))
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while not _healthy(port):
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "no /healthcheck answer in 30 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        # the whole session: workers outlive a supervisor that died before stopping them
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_locust_master_and_worker_run_locally(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    port, master_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [
            "cinderbench",
            "magnetodb",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "mdb"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    local = {
        "--sql-url": f"sqlite:///{tmp_path / 'cinder.sqlite'}",
        "--magnetodb-url": f"magnetodb://127.0.0.1:{port}/cinderbench",
    }
    master = services["locust-master"]["command"]
    for name, value in {
        **local,
        "--users": "2",
        "--spawn-rate": "2",
        "--run-time": "4s",
        "--expect-workers": "1",
        "--csv": str(tmp_path / "locust"),
    }.items():
        master = _replace(master, name, value)
    master = [*master, "--master-bind-port", str(master_port)]
    worker = services["locust-worker"]["command"]
    for name, value in {**local, "--master-host": "127.0.0.1"}.items():
        worker = _replace(worker, name, value)
    worker = [*worker, "--master-port", str(master_port)]
    workload = str(REPO / WORKLOAD)
    master[2] = worker[2] = workload
    try:
        deadline = time.monotonic() + 30
        while not _healthy(port):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        head = subprocess.Popen(
            master, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        hand = subprocess.Popen(
            worker, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output, _ = head.communicate(timeout=90)
        hand.wait(30)
        assert head.returncode == 0, f"{shlex.join(master)}\n{output[-4000:]}"
        assert (tmp_path / "locust_stats.csv").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)


def _pip_installs(lines: list[str]) -> set[tuple[str, ...]]:
    """Every ``pip install ...`` in ``lines`` as tokens, without ``python -m`` and pip's noise."""
    found = set()
    for line in lines:
        for part in re.split(r"&&|;|`", line):
            try:
                tokens = shlex.split(part.strip().removeprefix("$ ")) if "pip" in part else []
            except ValueError:  # prose around a command, not a command
                continue
            while tokens and tokens[0] not in ("pip", "pip3"):
                tokens = tokens[1:]
            if tokens[:2] in (["pip", "install"], ["pip3", "install"]):
                found.add(("pip", "install", *(t for t in tokens[2:] if t not in PIP_NOISE)))
    return found


def test_dockerfile_installs_the_project_as_the_readme_does() -> None:
    dockerfile = DOCKERFILE.read_text().splitlines()
    runs = [line.split(None, 1)[1] for line in dockerfile if line.startswith("RUN ")]
    installs = _pip_installs(runs)
    assert installs, "the Dockerfile installs nothing with pip"
    assert any(line.split()[:3] == ["COPY", ".", "/app"] for line in dockerfile)
    assert "WORKDIR /app" in dockerfile
    readme = _pip_installs(README.read_text().splitlines())
    assert readme, "README.md shows no `pip install` command for the project"
    assert installs <= readme, f"Dockerfile {sorted(installs)} vs README {sorted(readme)}"
