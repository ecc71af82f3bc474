"""API servers and `brushwork worker` processes apart: kill -9, SIGTERM drain, per-app workers."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import brushwork
from tests.conftest import (
    BACKENDS,
    PLUGINS,
    ROOT,
    PostgresCluster,
    Server,
    backend_env,
    free_port,
    new_database,
    start_redis,
    start_server,
    stop_server,
)
from tests.e2e.test_lifecycle import alive

FAST_RECOVERY = {
    "BRUSHWORK_HEARTBEAT_SECONDS": "0.3",
    "BRUSHWORK_STALE_AFTER_SECONDS": "2",
    "BRUSHWORK_CANCEL_GRACE_SECONDS": "1",
}


@contextmanager
def worker(server: Server, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A `brushwork worker` in its own process group (a "machine"), killed whole on exit."""
    env = {
        **os.environ,
        **(server.extra_env or {}),
        "PYTHONPATH": str(ROOT),
        "BRUSHWORK_PLUGINS": '["' + '","'.join(PLUGINS) + '"]',
    }
    data_dir = server.data_dir
    log = (data_dir / f"worker-{time.monotonic_ns()}.log").open("ab")
    command = [sys.executable, "-m", "brushwork.cli", "worker", "--data-dir", str(data_dir), *args]
    proc = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):  # already gone: it exited or was killed
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture(params=BACKENDS)
def api_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    env = {**FAST_RECOVERY, **backend_env(request.param, request)}
    server = start_server(tmp_path, "--no-workers", env_extra=env)
    server.extra_env = env
    yield server
    stop_server(server)


def holder_pid(client, task_id: str, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.tasks.get(task_id)
        match = re.search(r"picked up by \S+ \(pid (\d+)\)", task["logs"])
        if match and task["status"] == 7:
            return int(match.group(1))
        time.sleep(0.05)
    raise AssertionError("no worker picked the task up")


def wait_status(client, task_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.tasks.get(task_id)
        if task["status"] >= 9:
            return task
        time.sleep(0.1)
    raise AssertionError(f"task still {client.tasks.get(task_id)['status_name']} after {timeout} s")


@pytest.mark.parametrize("what", ["worker process", "whole machine"])
def test_kill_9_mid_task_and_another_worker_finishes_it(api_only: Server, what: str) -> None:
    with worker(api_only) as first, worker(api_only) as second:
        with brushwork.inference(base_url=api_only.base_url, api_key=api_only.key) as client:
            task = client.run({"app": "test/slow", "input": {"prompt": "slow"}}, wait=False)
            pid = holder_pid(client, task["id"])
            if what == "worker process":  # its supervisor sees the exit at once
                os.kill(pid, signal.SIGKILL)
                why = "re-queued: its worker process exited unexpectedly (code -9)"
            else:  # nothing is left to notice: the API's reaper sees the heartbeat stop
                group = os.getpgid(pid)
                assert group != os.getpgid(0) and group in {first.pid, second.pid}
                os.killpg(group, signal.SIGKILL)
                why = "re-queued: its worker stopped answering"
            final = wait_status(client, task["id"], timeout=30)
        assert final["status"] == 9, final["error"]
        assert why in final["logs"]


def test_sigterm_lets_a_worker_finish_its_task(api_only: Server) -> None:
    with worker(api_only) as proc:
        with brushwork.inference(base_url=api_only.base_url, api_key=api_only.key) as client:
            task = client.run({"app": "test/slow", "input": {"prompt": "slow"}}, wait=False)
            holder_pid(client, task["id"])
            proc.send_signal(signal.SIGTERM)
            final = wait_status(client, task["id"], timeout=30)
        assert final["status"] == 9 and "re-queued" not in final["logs"]
        assert proc.wait(20) == 0


def test_a_worker_serves_only_its_apps(api_only: Server) -> None:
    with (
        worker(api_only, "--apps", "brushwork/studio"),
        brushwork.inference(base_url=api_only.base_url, api_key=api_only.key) as client,
    ):
        done = client.run({"app": "brushwork/studio", "input": {"prompt": "x", "quality": "low"}})
        assert done["status"] == 9
        slow = client.run({"app": "test/slow", "input": {"prompt": "x"}}, wait=False)
        time.sleep(1.5)
        assert client.tasks.get(slow["id"])["status"] == 2  # nobody serves test/slow yet
        with worker(api_only, "--apps", "test/slow"):
            assert wait_status(client, slow["id"], timeout=30)["status"] == 9
    command = [sys.executable, "-m", "brushwork.cli", "worker", "--apps", "no/such"]
    bad = subprocess.run(
        [*command, "--data-dir", str(api_only.data_dir)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown app" in bad.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_queued_tasks_survive_a_restart_of_every_process(
    tmp_path: Path, backend: str, request
) -> None:
    env = {**FAST_RECOVERY, **backend_env(backend, request)}
    first = start_server(tmp_path, "--no-workers", env_extra=env)
    try:
        with brushwork.inference(base_url=first.base_url, api_key=first.key) as client:
            ids = [
                client.run(
                    {"app": "brushwork/studio", "input": {"prompt": f"t{i}", "quality": "low"}},
                    wait=False,
                )["id"]
                for i in range(3)
            ]
            assert {client.tasks.get(i)["status"] for i in ids} == {2}
    finally:
        stop_server(first)
    second = start_server(tmp_path, env_extra=env)  # same data, now with workers
    try:
        with brushwork.inference(base_url=second.base_url, api_key=first.key) as client:
            assert [wait_status(client, i, timeout=60)["status"] for i in ids] == [9, 9, 9]
    finally:
        stop_server(second)


def test_cancel_reaches_a_task_on_a_remote_worker_within_2_s(api_only: Server) -> None:
    with (
        worker(api_only),
        brushwork.inference(base_url=api_only.base_url, api_key=api_only.key) as client,
    ):
        task = client.run({"app": "test/slow", "input": {"prompt": "slow"}}, wait=False)
        holder_pid(client, task["id"])
        started = time.monotonic()
        client.tasks.cancel(task["id"])
        assert client.tasks.get(task["id"])["status"] == 11
        done = client.run(
            {"app": "brushwork/studio", "input": {"prompt": "next", "quality": "low"}}
        )
        # the one worker stopped the cancelled engine and took the next task
        assert done["status"] == 9 and time.monotonic() - started < 10
        assert "completed" not in client.tasks.get(task["id"])["logs"]


def test_a_stuck_engine_is_stopped_by_ending_its_worker(api_only: Server) -> None:
    with (
        worker(api_only),
        brushwork.inference(base_url=api_only.base_url, api_key=api_only.key) as client,
    ):
        task = client.run({"app": "test/stuck", "input": {"prompt": "x"}}, wait=False)
        holder = holder_pid(client, task["id"])
        client.tasks.cancel(task["id"])
        deadline = time.monotonic() + 15
        while alive(holder):
            assert time.monotonic() < deadline, "the stuck engine's worker kept running"
            time.sleep(0.1)
        done = client.run(
            {"app": "brushwork/studio", "input": {"prompt": "next", "quality": "low"}}
        )
        assert done["status"] == 9  # a fresh worker took over
        assert client.tasks.get(task["id"])["status"] == 11


def outage_and_return(server: Server, check: str, stop, start) -> None:
    """Stop a dependency: requests get 503 in the envelope and /health names it; start it
    again: service returns by itself."""
    low = {"app": "brushwork/studio", "input": {"prompt": "x", "quality": "low"}}
    with brushwork.inference(base_url=server.base_url, api_key=server.key) as client:
        assert client.run(low)["status"] == 9
        stop()
        with pytest.raises(brushwork.BrushworkError) as info:
            client.run(low, wait=False)
        assert info.value.http_status == 503 and info.value.code == "unavailable"
        health = httpx.get(server.base_url + "/health")
        assert health.status_code == 503
        assert health.json()["checks"][check].startswith("unreachable")
        start()
        deadline = time.monotonic() + 20
        while httpx.get(server.base_url + "/health").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert client.run(low)["status"] == 9


def test_redis_outage_is_503_and_service_returns(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    procs = [start_redis(port)]

    def stop_redis() -> None:
        procs[-1].terminate()
        procs[-1].wait(10)

    env = {**FAST_RECOVERY, "BRUSHWORK_QUEUE_URL": f"redis://127.0.0.1:{port}/0"}
    server = start_server(tmp_path, env_extra=env)
    try:
        outage_and_return(server, "queue", stop_redis, lambda: procs.append(start_redis(port)))
    finally:
        stop_server(server)
        stop_redis()


def test_postgres_outage_is_503_and_service_returns(tmp_path: Path) -> None:
    cluster = PostgresCluster()
    cluster.start()
    env = {**FAST_RECOVERY, "BRUSHWORK_DATABASE_URL": new_database(cluster.url)}
    server = start_server(tmp_path, env_extra=env)
    try:
        outage_and_return(server, "database", cluster.stop, cluster.start)
    finally:
        stop_server(server)
        cluster.remove()


def test_kill_9_mid_call_keeps_the_session_usable(api_only: Server) -> None:
    """The worker holding a session's call dies: that call is re-queued as any task is, the
    next call waits its turn, both complete, and the session goes on."""
    with (
        worker(api_only),
        worker(api_only),
        brushwork.inference(base_url=api_only.base_url, api_key=api_only.key) as client,
    ):
        session = client.session("test/slow", timeout=120)
        one = session.call({"prompt": "slow"}, wait=False)
        pid = holder_pid(client, one["id"])
        two = session.call({"prompt": "slower"}, wait=False)  # queued behind the first
        os.kill(pid, signal.SIGKILL)
        first = wait_status(client, one["id"], timeout=30)
        second = wait_status(client, two["id"], timeout=30)
        assert first["status"] == 9 and "re-queued" in first["logs"]
        assert second["status"] == 9, second["error"]
        assert second["started_at"] >= first["completed_at"]  # in order, one at a time
        third = session.call({"prompt": "and again"})
        assert third["status"] == 9 and third["parent_id"] == two["id"]
        state = session.get()
        assert state["status"] == "active"
        assert state["tasks"] == [one["id"], two["id"], third["id"]]
