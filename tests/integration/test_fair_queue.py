"""Keys take turns in an app's queue, and a key's own tasks keep their order, on SQLite and on
Redis; task ids an older version left in Redis's unordered list are not stranded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from huey import Huey

from brushwork.contract import TaskStatus
from brushwork.tasks.queue import TASK_NAME, TaskQueue, _never_called
from tests.conftest import Api, free_port, new_redis, start_redis
from tests.helpers import store_written_by


@pytest.fixture(params=["sqlite", "redis"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "queue.db")
        return
    port = free_port()
    proc = start_redis(port)
    try:
        yield new_redis(f"redis://127.0.0.1:{port}/0")
    finally:
        proc.terminate()
        proc.wait(10)


def drain(queue: TaskQueue) -> list[str]:
    taken = []
    while (task_id := queue.try_take()) is not None:
        taken.append(task_id)
    return taken


def test_keys_take_turns_and_keep_their_own_order(where: str) -> None:
    queue = TaskQueue(where, apps=["brushwork/studio"])
    for i in range(4):
        queue.enqueue(f"a{i}", "brushwork/studio", turn=i)
    for i in range(2):
        queue.enqueue(f"b{i}", "brushwork/studio", turn=i)
    queue.enqueue("c0", "brushwork/studio", turn=0)
    assert drain(queue) == ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]


def test_a_worker_of_many_apps_finds_every_queued_id_and_apps_take_turns(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps = [f"brushwork/app{i}" for i in range(6)]
    worker, api = TaskQueue(where, apps=apps), TaskQueue(where, apps=apps)
    other = TaskQueue(where, apps=["brushwork/elsewhere"])  # an app this worker does not serve
    other.enqueue("not-mine", "brushwork/elsewhere")
    looked: list[str] = []
    real = Huey.dequeue

    def counted(self: Huey) -> object:
        looked.append(self.name)
        return real(self)

    monkeypatch.setattr(Huey, "dequeue", counted)
    assert worker.try_take() is None and looked == []  # all empty: one look, no dequeue
    for task_id, app in (("4a", apps[4]), ("1a", apps[1]), ("4b", apps[4]), ("1b", apps[1])):
        api.enqueue(task_id, app)
    assert drain(worker) == ["1a", "4a", "1b", "4b"]  # apps alternate, each in its own order
    assert len(looked) == 4  # only the queues that held ids were asked
    api.enqueue("late", apps[5])  # queued after the worker last looked
    assert worker.try_take() == "late" and worker.try_take() is None
    assert other.try_take() == "not-mine"


def test_ids_left_in_an_old_unordered_redis_list_move_to_the_ordered_queue(
    tmp_path: Path,
) -> None:
    from huey import RedisHuey

    port = free_port()
    proc = start_redis(port)
    try:
        url = new_redis(f"redis://127.0.0.1:{port}/0")
        old = RedisHuey("brushwork:brushwork/studio", url=url, results=False, utc=True)
        enqueue_old = old.task(name=TASK_NAME)(_never_called)  # what that version queued
        for task_id in ("old1", "old2"):
            enqueue_old(task_id)
        queue = TaskQueue(url, apps=["brushwork/studio"])
        queue.enqueue("new1", "brushwork/studio", turn=0)
        assert drain(queue) == ["old1", "old2", "new1"]
        assert old.pending_count() == 0
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_busy_key_does_not_hold_back_another_keys_first_task(api: Api) -> None:
    """Through the API, no worker running: one key queues five, another one; the second key's
    task is taken second, not sixth."""
    store = api.http.app.state.services.store  # type: ignore[attr-defined]
    other = store.create_key("other")
    ids = [api.run({"prompt": f"busy {i}"}).json()["id"] for i in range(5)]
    quiet = api.http.post(
        "/apps/run",
        json={"app": "brushwork/studio", "input": {"prompt": "quiet"}},
        headers={"Authorization": f"Bearer {other}"},
    ).json()["id"]
    queue = api.http.app.state.services.queue  # type: ignore[attr-defined]
    queue.apps = ["brushwork/studio"]
    assert drain(queue) == [ids[0], quiet, *ids[1:]]


def test_a_keys_order_holds_while_its_tasks_start_between_submissions(api: Api) -> None:
    """One key, tasks starting while it submits more (a closed loop): a task queued behind
    others still goes before a later one. With priority minus the key's waiting count, the
    task queued behind two (-2) went after one submitted when only one waited (-1)."""
    store = api.http.app.state.services.store  # type: ignore[attr-defined]
    queue = api.http.app.state.services.queue  # type: ignore[attr-defined]
    queue.apps = ["brushwork/studio"]
    ids = [api.run({"prompt": f"loop {i}"}).json()["id"] for i in range(3)]
    for _ in range(2):  # two start: only ids[2] waits
        task_id = queue.try_take()
        assert store.update(task_id, status=TaskStatus.PREPARING, worker="w")
    later = api.run({"prompt": "loop 3"}).json()["id"]
    other = store.create_key("other")
    first_of_other = api.http.post(
        "/apps/run",
        json={"app": "brushwork/studio", "input": {"prompt": "other"}},
        headers={"Authorization": f"Bearer {other}"},
    ).json()["id"]
    # the other key's first task takes the turn being served: right behind ids[2]
    assert drain(queue) == [ids[2], first_of_other, later]


def test_tasks_queued_before_turns_existed_go_first(tmp_path: Path) -> None:
    """A store written by revision 0003 (before ``turn``), with a task still waiting, opens
    at the new revision: the old task counts as round 0 and a new one queues behind it."""
    from brushwork.tasks.store import Store

    url = store_written_by(
        tmp_path / "old.db",
        "0003",
        "INSERT INTO tasks (id, owner, app, status, input, files, logs, progress, attempts, "
        "options, webhook_attempts, created_at, updated_at) VALUES ('old', 'o', "
        "'brushwork/studio', 2, '{\"prompt\": \"x\"}', '{}', '', 0, 0, '{}', '[]', 1.0, 1.0)",
    )
    store = Store(url)
    old = store.get_task("old")
    assert old is not None and old["turn"] is None and old["input"] == {"prompt": "x"}
    waiting = store.waiting_counts("brushwork/studio", "o")
    assert (waiting.for_app, waiting.for_owner, waiting.turn) == (1, 1, 1)
    assert store.waiting_counts("brushwork/studio", "someone else").turn == 0
