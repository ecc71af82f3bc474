"""The queue: which task runs next. Huey holds the order durably, on SQLite (one machine) or
Redis (many), one queue per app, so a worker can serve some apps only (``worker --apps``).

Order: within an app, a key's tasks start in the order it submitted them, and keys take
turns. Each task is given a turn when it is submitted (start-time fair queueing): the turn
the app's queue is serving now (the lowest of the waiting ones), or the one after its key's
last waiting task, whichever is later; it is queued with priority minus its turn (Huey takes
the highest priority first, in submission order among equals). So a key's thousand queued
tasks hold turns n … n+999 and another key's first task takes turn n, right behind the one
being served. (Priority minus the count of the key's waiting tasks, as before, did not keep
a key's own order: a task queued behind five kept priority -5 while a later one, submitted
once the queue had drained to one, got -1 and went first; one key's p95 latency under load
was 5–17× its median.)

The task store is the record; the queue only carries task ids. Idle workers
block on a doorbell instead of backing off their polling, so an idle worker
starts a task at once: a semaphore the API rings on one machine (a system call: a
multiprocessing queue needed its feeder thread to get the API's interpreter lock
first, and a submission held it), a Redis list on many. The poll interval is only
the fallback.
"""

from __future__ import annotations

import time
from multiprocessing.synchronize import Semaphore
from pathlib import Path
from typing import Any

from huey import Huey, PriorityRedisHuey, RedisHuey, SqliteHuey
from huey.storage import SqliteStorage

TASK_NAME = "brushwork.run_task"


def _never_called(task_id: str) -> None:  # the worker reads the id and runs the task itself
    raise RuntimeError("brushwork tasks are run by brushwork workers, not by a Huey consumer")


DOORBELL = "brushwork:doorbell"
CHANGED = "brushwork:task-changed"  # pub/sub: ids of tasks that changed, for API servers


class _SqliteStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite queue as durable as the task store beside it: WAL with synchronous=NORMAL
    (a crash of any process loses nothing; a power cut may lose the last few ids, as it may
    the store's last rows, and such a task expires with a clear error), not an fsync on every
    enqueue and dequeue: that was a twentieth of the API's busy time per task."""

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class TaskQueue:
    """A durable queue per app (Huey), on SQLite (a file path) or Redis (``redis://…``);
    workers take from the apps they serve."""

    def __init__(
        self, where: str | Path, doorbell: Semaphore | None = None, apps: list[str] | None = None
    ):
        self.where = str(where).removeprefix("sqlite:///")
        self.redis: Any = None
        if self.where.startswith(("redis://", "rediss://", "unix://")):
            import redis

            self.redis = redis.Redis.from_url(self.where)
        else:
            Path(self.where).parent.mkdir(parents=True, exist_ok=True)
        self.doorbell = doorbell
        self.apps = list(apps or [])
        self._queues: dict[str, tuple[Huey, Any]] = {}
        self._next = 0
        self._taken: dict[str, tuple[str, int]] = {}  # the last id handed out: (app, turn)

    def _queue(self, app: str) -> tuple[Huey, Any]:
        if app not in self._queues:
            name = f"brushwork:{app}"
            huey: Huey
            if self.redis is not None:  # a sorted set: Redis lists have no priorities
                huey = PriorityRedisHuey(
                    f"brushwork-fair:{app}", url=self.where, blocking=False, results=False,
                    utc=True,
                )  # fmt: skip
            else:  # Huey's SQLite queue orders by priority already
                huey = SqliteHuey(name, filename=self.where, results=False, utc=True,
                                  storage_class=_SqliteStorage)  # fmt: skip
            self._queues[app] = (huey, huey.task(name=TASK_NAME)(_never_called))
            if self.redis is not None:
                self._move_unordered(app, name)
        return self._queues[app]

    def _move_unordered(self, app: str, name: str) -> None:
        """Task ids that a version before fair ordering left in the app's Redis list go to
        the ordered queue (first come, first served among themselves): none is stranded."""
        old = RedisHuey(name, url=self.where, blocking=False, results=False, utc=True)
        old.task(name=TASK_NAME)(_never_called)  # as that version registered it
        if not old.pending_count():
            return
        wrapper = self._queues[app][1]
        while (message := old.dequeue()) is not None:
            wrapper(message.args[0], priority=0)

    def enqueue(self, task_id: str, app: str, turn: int = 0) -> None:
        """Queue ``task_id`` in its ``turn`` (lower turns go first; the same turn, first come
        first served)."""
        self._queue(app)[1](task_id, priority=-turn)
        if self.redis is not None:  # wakes idle workers on every machine
            with self.redis.pipeline() as pipe:
                pipe.lpush(DOORBELL, 1).ltrim(DOORBELL, 0, 999).execute()
        elif self.doorbell is not None:
            self.doorbell.release()

    def take(self, wait: float) -> str | None:
        """The next task id, waiting up to ``wait`` seconds (woken early by the doorbell)."""
        task_id = self.try_take()
        if task_id is not None:
            return task_id
        if self.redis is not None:
            self.redis.brpop([DOORBELL], timeout=max(1, round(wait)))
        elif self.doorbell is None:
            time.sleep(wait)
        else:
            self.doorbell.acquire(timeout=wait)  # a ring left over from a busy spell: a look
        return self.try_take()

    def try_take(self) -> str | None:
        """The next task id of any served app, without waiting; apps take turns."""
        busy = self._busy()
        for offset in range(len(self.apps)):
            app = self.apps[(self._next + offset) % len(self.apps)]
            if busy is not None and app not in busy:
                continue
            message = self._queue(app)[0].dequeue()
            if message is not None:
                self._next = (self._next + offset + 1) % len(self.apps)
                task_id = str(message.args[0])
                self._taken = {task_id: (app, -int(message.priority or 0))}
                return task_id
        return None

    def _busy(self) -> set[str] | None:
        """The served apps whose queues hold ids, in one look instead of a dequeue per app
        (a worker serving the 17 apps of the tests made 51 queries a task, most of them on
        empty queues): on SQLite every app's queue is rows of one table, on Redis a pipeline
        counts each app's sorted set. None (look at each) for a worker of one app."""
        if len(self.apps) < 2:
            return None
        queues = {app: self._queue(app)[0].storage for app in self.apps}
        if self.redis is not None:
            with self.redis.pipeline(transaction=False) as pipe:
                for storage in queues.values():
                    pipe.zcard(storage.queue_key)
                counts = pipe.execute()
            return {app for app, count in zip(queues, counts, strict=True) if count}
        names = {storage.name: app for app, storage in queues.items()}
        rows = next(iter(queues.values())).sql("select distinct queue from task", results=True)
        return {names[name] for (name,) in rows if name in names}

    def put_back(self, task_id: str) -> None:
        """Queue again, in its app and turn, the id this queue handed out last: for a worker
        that took it but could not start it (its database did not answer), so that the task
        does not sit queued in the store, on no queue, until it expires."""
        app, turn = self._taken.pop(task_id)
        self.enqueue(task_id, app, turn=turn)

    def publish_change(self, task_id: str, status: int) -> None:
        """Tell every API server that ``task_id`` changed, and to what status (``events.py``:
        a wait for the end is not woken by the changes before it)."""
        if self.redis is not None:
            self.redis.publish(CHANGED, f"{task_id} {int(status)}")

    def depth(self, app: str | None = None) -> int:
        apps = [app] if app else self.apps
        return sum(int(self._queue(a)[0].pending_count()) for a in apps)
