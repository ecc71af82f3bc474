"""Fixtures: an in-process app with a real store and a synchronous worker, and a real server.

The in-process ``api`` fixture drives FastAPI through its TestClient and runs
queued tasks with a real ``Worker`` in the test's own process, so pipeline
tests are fast and deterministic. The ``server`` fixture (e2e) starts
``brushwork serve`` as a separate process on a free port, workers and all.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from brushwork.server import create_app
from brushwork.settings import Settings
from brushwork.tasks.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = [
    "test/slow=tests.plugins.engines_for_tests:SlowEngine",
    "test/broken=tests.plugins.engines_for_tests:BrokenEngine",
    "test/unavailable=tests.plugins.engines_for_tests:UnavailableEngine",
    "test/crashing=tests.plugins.engines_for_tests:CrashingEngine",
    "test/stuck=tests.plugins.engines_for_tests:StuckEngine",
]


@dataclass
class Api:
    http: TestClient
    worker: Worker
    key: str
    settings: Settings

    def run(
        self, input: dict[str, Any], app: str = "brushwork/studio", **body: Any
    ) -> httpx.Response:
        return self.http.post("/apps/run", json={"app": app, "input": input, **body})

    def drain(self) -> int:
        """Run every queued task to its end in this process; returns how many ran."""
        count = 0
        while (task_id := self.worker.queue.try_take()) is not None:
            self.worker.run_task(task_id)
            count += 1
        return count

    def complete(self, input: dict[str, Any], app: str = "brushwork/studio") -> dict[str, Any]:
        response = self.run(input, app)
        assert response.status_code == 202, response.text
        self.drain()
        task: dict[str, Any] = self.http.get(f"/tasks/{response.json()['id']}").json()
        return task

    def download(self, uri: str) -> bytes:
        response = self.http.get(uri)
        assert response.status_code == 200, response.text
        return response.content


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster from Debian's server binaries (started, stopped, again)."""

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            pytest.skip("PostgreSQL server binaries are not installed (Debian package postgresql)")
        self.bin = bin_dir
        # not under pytest's private tmp: the server's own user must be able to reach it
        self.root = Path(tempfile.mkdtemp(prefix="brushwork-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        self._ctl("initdb", "-D", f"{self.root}/data", "-A", "trust", "-U", "postgres")

    def _ctl(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / program), *args], capture_output=True, check=check
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += " -c fsync=off -c max_connections=200"
        self._ctl(
            "pg_ctl",
            "-D",
            f"{self.root}/data",
            "-o",
            options,
            "-l",
            f"{self.root}/log",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._ctl("pg_ctl", "-D", f"{self.root}/data", "-m", "immediate", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server for the whole run; each test takes a fresh database of it."""
    cluster = PostgresCluster()
    cluster.start()
    yield cluster.url
    cluster.remove()


def new_database(base_url: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Until something accepts connections on loopback ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:g} s")


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """Debian's redis-server on loopback, saving nothing."""
    binary = shutil.which("redis-server") or "redis-server"
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    wait_for_port(port)
    return proc


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's standalone S3-compatible server on loopback; yields its endpoint."""
    binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A throwaway Redis (Debian's redis-server) for the whole run; nothing is saved."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    proc = start_redis(port)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def new_redis(base_url: str) -> str:
    import redis

    redis.Redis.from_url(base_url).flushdb()
    return base_url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server for the whole run; each test gets its own bucket."""
    with moto_s3() as endpoint:
        yield endpoint


def new_bucket(endpoint: str) -> str:
    import boto3

    name = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return f"s3://{name}?endpoint={endpoint}&region=us-east-1"


# moto accepts any credentials; real deployments use the usual AWS variables or roles
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

BACKENDS = ["sqlite", "postgresql+redis+s3"]


def backend_env(name: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings (as environment) for the embedded backend or the many-machines one."""
    if name == "sqlite":
        return {}
    return {
        "BRUSHWORK_DATABASE_URL": new_database(request.getfixturevalue("postgres")),
        "BRUSHWORK_QUEUE_URL": new_redis(request.getfixturevalue("redis_server")),
        "BRUSHWORK_FILES_URL": new_bucket(request.getfixturevalue("s3_server")),
    }


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Every in-process API test runs on both backends: the embedded one, and PostgreSQL with
    Redis and S3."""
    env = backend_env(request.param, request)
    return Settings(
        data_dir=tmp_path / "data",
        plugins=PLUGINS,
        workers=1,
        database_url=env.get("BRUSHWORK_DATABASE_URL"),
        queue_url=env.get("BRUSHWORK_QUEUE_URL"),
        files_url=env.get("BRUSHWORK_FILES_URL"),
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    app = create_app(settings)
    key = app.state.services.store.create_key("test")
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        yield Api(http, Worker(settings), key, settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    key: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    extra_env: dict[str, str] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "BRUSHWORK_BASE_URL": self.base_url, "BRUSHWORK_API_KEY": self.key}


def start_server(data_dir: Path, *extra: str, env_extra: dict[str, str] | None = None) -> Server:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRUSHWORK_PLUGINS": '["' + '","'.join(PLUGINS) + '"]',
        **(env_extra or {}),
    }
    brushwork = [sys.executable, "-m", "brushwork.cli"]
    key = subprocess.run(
        [*brushwork, "keys", "create", "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    port = free_port()
    log = (data_dir / "server.log").open("ab")
    proc = subprocess.Popen(
        [
            *brushwork,
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--workers",
            "2",
            *extra,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + (data_dir / "server.log").read_text())
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return Server(base, key, data_dir, proc)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    stop_server(srv)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    fuzz = ROOT / "out" / "fuzz-cases.txt"
    if fuzz.is_file():
        terminalreporter.write_line(f"schemathesis cases run: {fuzz.read_text().strip()}")
    shots = ROOT / "out" / "screenshots"
    if shots.is_dir() and any(shots.iterdir()):
        terminalreporter.write_line(f"web playground screenshots: {shots}")
