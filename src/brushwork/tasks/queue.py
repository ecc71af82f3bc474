"""The queue: which task runs next. Huey on SQLite holds the order durably.

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
    def __init__(self, path: Path, doorbell: MPQueue[Any] | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.huey = SqliteHuey("brushwork", filename=str(path), results=False, utc=True)
        self._run = self.huey.task(name=TASK_NAME)(_never_called)
        self.doorbell = doorbell

    def enqueue(self, task_id: str) -> None:
        self._run(task_id)
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
        """The next task id if one is queued, without waiting."""
        message = self.huey.dequeue()
        if message is None:
            return None
        return str(message.args[0])

    def depth(self) -> int:
        return int(self.huey.pending_count())
