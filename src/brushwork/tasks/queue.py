"""The queue: which task runs next. Huey on SQLite holds the order durably, one queue per app,
so a worker can serve some apps only (``brushwork worker --apps``).

The task store is the record; the queue only carries task ids. Idle workers
block on a doorbell (a multiprocessing queue the API rings on every enqueue)
instead of backing off their polling, so an idle worker starts a task at once;
the poll interval is only the fallback for workers the API cannot ring.
"""

from __future__ import annotations

import contextlib
import queue as stdlib_queue
import time
from multiprocessing.queues import Queue as MPQueue
from pathlib import Path
from typing import Any

from huey import SqliteHuey

TASK_NAME = "brushwork.run_task"


def _never_called(task_id: str) -> None:  # the worker reads the id and runs the task itself
    raise RuntimeError("brushwork tasks are run by brushwork workers, not by a Huey consumer")


class TaskQueue:
    """A durable queue per app (Huey, one SQLite file); workers take from the apps they serve."""

    def __init__(
        self, path: Path, doorbell: MPQueue[Any] | None = None, apps: list[str] | None = None
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.doorbell = doorbell
        self.apps = list(apps or [])
        self._queues: dict[str, tuple[SqliteHuey, Any]] = {}
        self._next = 0

    def _queue(self, app: str) -> tuple[SqliteHuey, Any]:
        if app not in self._queues:
            huey = SqliteHuey(f"brushwork:{app}", filename=str(self.path), results=False, utc=True)
            self._queues[app] = (huey, huey.task(name=TASK_NAME)(_never_called))
        return self._queues[app]

    def enqueue(self, task_id: str, app: str) -> None:
        self._queue(app)[1](task_id)
        if self.doorbell is not None:
            with contextlib.suppress(stdlib_queue.Full):
                self.doorbell.put_nowait(1)

    def take(self, wait: float) -> str | None:
        """The next task id, waiting up to ``wait`` seconds (woken early by the doorbell)."""
        task_id = self.try_take()
        if task_id is not None:
            return task_id
        if self.doorbell is None:
            time.sleep(wait)
        else:
            with contextlib.suppress(stdlib_queue.Empty):
                self.doorbell.get(timeout=wait)
        return self.try_take()

    def try_take(self) -> str | None:
        """The next task id of any served app, without waiting; apps take turns."""
        for offset in range(len(self.apps)):
            app = self.apps[(self._next + offset) % len(self.apps)]
            message = self._queue(app)[0].dequeue()
            if message is not None:
                self._next = (self._next + offset + 1) % len(self.apps)
                return str(message.args[0])
        return None

    def depth(self, app: str | None = None) -> int:
        apps = [app] if app else self.apps
        return sum(int(self._queue(a)[0].pending_count()) for a in apps)
