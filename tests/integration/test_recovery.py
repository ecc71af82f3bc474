"""Lost tasks: re-queued once, then failed; live workers keep theirs; queues are per app."""

from __future__ import annotations

import time

import pytest

from brushwork.contract import TaskStatus
from brushwork.tasks.queue import TaskQueue
from brushwork.tasks.recovery import recover
from brushwork.tasks.store import Store
from tests.conftest import Api, new_database


def claim(api: Api, task_id: str, worker: str) -> None:
    assert api.worker.store.update(task_id, status=TaskStatus.PREPARING, worker=worker)
    assert api.worker.store.update(task_id, status=TaskStatus.RUNNING)


def test_a_quiet_worker_loses_its_task_once_then_the_task_fails(api: Api) -> None:
    store, queue = api.worker.store, api.worker.queue
    task_id = api.run({"prompt": "x", "quality": "low"}).json()["id"]
    assert queue.try_take() == task_id
    claim(api, task_id, "far-away-worker-1")
    assert recover(store, queue, why="test", stale_before=time.time() - 60) == (0, 0)  # alive
    assert recover(
        store, queue, why="its worker stopped answering", stale_before=time.time() + 1
    ) == (1, 0)
    task = api.http.get(f"/tasks/{task_id}").json()
    assert task["status"] == 2 and "re-queued: its worker stopped answering" in task["logs"]
    assert queue.try_take() == task_id  # back in the queue
    claim(api, task_id, "far-away-worker-2")
    assert recover(
        store, queue, why="its worker stopped answering", stale_before=time.time() + 1
    ) == (0, 1)
    task = api.http.get(f"/tasks/{task_id}").json()
    assert task["status"] == 10 and task["error"]["code"] == "interrupted"
    assert "last attempt" in task["error"]["message"]


def test_a_requeued_task_completes_on_another_worker(api: Api) -> None:
    store, queue = api.worker.store, api.worker.queue
    task_id = api.run({"prompt": 'again "OK"', "quality": "low"}).json()["id"]
    assert queue.try_take() == task_id
    claim(api, task_id, "lost-worker")
    recover(store, queue, why="its worker process exited unexpectedly", worker="lost-worker")
    assert api.drain() == 1
    task = api.http.get(f"/tasks/{task_id}").json()
    assert task["status"] == 9 and len(task["output"]["images"]) == 1


def test_heartbeats_keep_a_running_task(api: Api) -> None:
    store = api.worker.store
    task_id = api.run({"prompt": "x"}).json()["id"]
    api.worker.queue.try_take()
    claim(api, task_id, "w")
    before = store.get_task(task_id)["heartbeat_at"]
    time.sleep(0.01)
    store.heartbeat(task_id, "w")
    assert store.get_task(task_id)["heartbeat_at"] > before
    store.heartbeat(task_id, "someone-else")  # only the holder's heartbeat counts
    assert store.held(stale_before=before + 0.005) == []


def test_each_app_has_its_own_queue(api: Api) -> None:
    only_slow = TaskQueue(api.settings.queue, apps=["test/slow"])
    studio = api.run({"prompt": "x"}).json()["id"]
    assert only_slow.try_take() is None
    slow = api.run({"prompt": "x"}, app="test/slow").json()["id"]
    assert only_slow.try_take() == slow
    assert api.worker.queue.try_take() == studio


def test_full_queues_refuse_with_429(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from brushwork.server import create_app
    from brushwork.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, max_queued_per_app=3, max_queued_per_key=2))
    store = app.state.services.store
    first, second = store.create_key("a"), store.create_key("b")
    body = {"app": "brushwork/studio", "input": {"prompt": "x"}}
    with TestClient(app) as http:

        def run(key: str) -> int:
            return http.post(
                "/apps/run", json=body, headers={"Authorization": f"Bearer {key}"}
            ).status_code

        assert [run(first), run(first), run(first)] == [202, 202, 429]  # the key's share
        refused = http.post("/apps/run", json=body, headers={"Authorization": f"Bearer {first}"})
        assert refused.json()["error"]["code"] == "queue_full" and "Retry-After" in refused.headers
        assert [run(second), run(second)] == [202, 429]  # the app's queue: 3 waiting
        assert store.count_waiting(app="brushwork/studio") == 3


def test_tasks_that_wait_too_long_expire(api: Api) -> None:
    from brushwork.tasks.recovery import expire

    task_id = api.run({"prompt": "x"}).json()["id"]
    time.sleep(0.05)
    assert expire(api.worker.store, 10) == 0
    assert expire(api.worker.store, 0.01) == 1
    task = api.http.get(f"/tasks/{task_id}").json()
    assert task["status"] == 10 and task["error"]["code"] == "expired"
    assert api.drain() == 1  # the queue still held it; the worker skips it
    assert api.http.get(f"/tasks/{task_id}").json()["output"] is None


def test_metrics_count_workers_and_step_times(api: Api) -> None:
    api.worker.store.worker_seen("worker-x", 123, ["brushwork/studio"])
    task = api.complete({"prompt": "x", "quality": "low"})
    assert task["status"] == 9
    text = api.http.get("/metrics").text
    assert "brushwork_workers 1" in text
    assert "brushwork_engine_seconds_count 1" in text and "brushwork_encode_seconds_count 1" in text
    engine_sum = float(
        next(
            line.split()[1]
            for line in text.splitlines()
            if line.startswith("brushwork_engine_seconds_sum")
        )
    )
    timings = task["output"]["output_meta"]["timings"]
    assert engine_sum == pytest.approx(timings["engine_s"], abs=1e-3)
    # the worker's CPU seconds beside the wall seconds (bench/throughput.py reads them)
    assert timings["engine_cpu_s"] > 0 and timings["encode_cpu_s"] > 0
    health = api.http.get("/health").json()
    assert health["status"] == "ok" and health["checks"] == {"database": "ok", "queue": "ok"}
    assert health["workers"] == 1


def test_an_unreachable_store_is_503_in_the_envelope_and_recovers(api: Api) -> None:
    from sqlalchemy import create_engine

    store = api.http.app.state.services.store  # type: ignore[attr-defined]
    working = store.engine
    store.engine = create_engine("sqlite:////nonexistent-dir/brushwork.db")  # the database is gone
    try:
        health = api.http.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert health.json()["checks"]["database"].startswith("unreachable")
        listed = api.http.get("/tasks")
        assert listed.status_code == 503 and listed.json()["error"]["code"] == "unavailable"
        assert api.run({"prompt": "x"}).status_code == 503
    finally:
        store.engine = working
    assert api.http.get("/health").status_code == 200
    assert api.run({"prompt": "x"}).status_code == 202


def test_every_status_change_is_published_requeue_and_create_included(api: Api) -> None:
    """Other API servers learn of changes through ``on_change`` (Redis); a re-queue after a lost
    worker and a new task are changes too."""
    store = api.worker.store
    seen: list[tuple[str, TaskStatus]] = []
    store.on_change = lambda task_id, status: seen.append((task_id, status))
    task_id = store.create_task(
        owner="o", app="brushwork/studio", input={"prompt": "x"}, file_ids={}, queued=True
    )["id"]
    assert seen == [(task_id, TaskStatus.QUEUED)]
    claim(api, task_id, "gone-worker")
    seen.clear()
    assert store.requeue(task_id, "gone-worker", "re-queued: test\n")
    assert seen == [(task_id, TaskStatus.QUEUED)]
    assert store.status_of(task_id) == TaskStatus.QUEUED
    seen.clear()
    assert not store.requeue(task_id, "gone-worker", "again\n")  # nothing held: no change
    assert seen == []


@pytest.mark.parametrize("queued", [True, False])
def test_a_new_task_is_answered_as_the_store_reads_it(api: Api, queued: bool) -> None:
    """``create_task`` answers the row its own write read back (no second query when it
    queues): the same as reading the task afterwards, column for column."""
    store = api.worker.store
    made = store.create_task(
        owner="o", app="brushwork/studio", input={"prompt": "x", "n": 2},
        file_ids={"images": ["f1"], "mask": None}, options={"previews": 1}, queued=queued,
    )  # fmt: skip
    assert made == store.get_task(made["id"])
    assert made["status"] == int(TaskStatus.QUEUED if queued else TaskStatus.RECEIVED)
    assert [e["status"] for _, e in store.events_after(made["id"], 0)] == (
        [1, 2] if queued else [1]
    )


def test_a_secret_made_by_two_processes_at_once_is_the_first_ones(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API and a worker can both find no file-link secret and both make one (seen in CI on
    PostgreSQL as a unique violation, answered 503): the second takes the first's."""
    from sqlalchemy import insert

    from brushwork.tasks.store import keys
    from brushwork.tasks.store.tables import webhook_secrets

    store = api.worker.store
    real = keys.new_secret

    def made_meanwhile() -> str:
        with store.engine.begin() as conn:  # the other process, between our read and insert
            conn.execute(insert(webhook_secrets).values(owner="server:race", secret="whsec_first"))
        return real()

    monkeypatch.setattr(keys, "new_secret", made_meanwhile)
    assert store.server_secret("race") == b"whsec_first"
    monkeypatch.setattr(keys, "new_secret", real)
    assert store.server_secret("race") == b"whsec_first"


def test_a_pooled_connection_the_database_dropped_is_replaced_not_failed(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted PostgreSQL leaves the pool's connections dead: one that sat idle is pinged
    before it is handed out, and a dead one is replaced, so the next request does not fail."""
    import psycopg

    import brushwork.tasks.store as store_module

    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    url = new_database(postgres)
    store = Store(url)
    task_id = store.create_task(owner="o", app="brushwork/studio", input={}, file_ids={})["id"]
    plain, name = url.replace("+psycopg", "").rsplit("/", 1)
    with psycopg.connect(plain + "/postgres", autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        ).fetchone()
    assert ended is not None and ended[0] >= 1  # the pooled connection is gone
    time.sleep(0.1)
    assert store.status_of(task_id) == TaskStatus.RECEIVED
    store.engine.dispose()


def test_a_task_the_worker_could_not_read_goes_back_on_the_queue_in_its_turn(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database drops between taking an id and reading the task: the worker fails (its
    pool starts a fresh one), but the id goes back ahead of later tasks, not lost queued."""
    from sqlalchemy.exc import OperationalError

    first = api.run({"prompt": 'first "A"', "quality": "low"}).json()["id"]
    second = api.run({"prompt": 'second "B"', "quality": "low"}).json()["id"]
    store = api.worker.store
    real = store.get_task

    def dropped(task_id: str) -> None:
        monkeypatch.setattr(store, "get_task", real)
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(store, "get_task", dropped)
    with pytest.raises(OperationalError):
        api.worker._take_one()
    assert store.status_of(first) == TaskStatus.QUEUED
    assert api.worker.queue.try_take() == first  # its turn kept: before the second
    api.worker.queue.put_back(first)
    assert api.drain() == 2
    for task_id in (first, second):
        assert api.http.get(f"/tasks/{task_id}").json()["status"] == 9


def test_an_id_queued_twice_runs_once(api: Api) -> None:
    """A put-back that races a recovery can queue an id twice: the worker that takes it the
    second time finds the task claimed and leaves it to its holder."""
    task_id = api.run({"prompt": 'once "A"', "quality": "low"}).json()["id"]
    assert api.worker.queue.try_take() == task_id
    assert api.worker.store.update(task_id, status=TaskStatus.PREPARING, worker="first-taker")
    api.worker.run_task(task_id)  # the same id, taken a second time
    task = api.worker.store.get_task(task_id)
    assert task["status"] == TaskStatus.PREPARING and task["worker"] == "first-taker"
    assert api.worker.name not in task["logs"]
