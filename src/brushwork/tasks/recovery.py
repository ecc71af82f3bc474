"""No task stays in a worker's hands forever: lost tasks are re-queued once, then failed.

A worker heartbeats while it holds a task. When its process dies (the pool's
supervisor sees it) or its heartbeat goes quiet (the API's reaper sees it), each
task it held goes back to the queue for one more attempt; a task that was
already retried fails with a clear error instead. Outputs are written under new
file ids on every attempt, so running a task twice is harmless.
"""

from __future__ import annotations

import logging
import time

from brushwork.contract import TaskStatus
from brushwork.errors import EngineFailed
from brushwork.tasks.periodic import Periodic
from brushwork.tasks.queue import TaskQueue
from brushwork.tasks.store import Store

log = logging.getLogger("brushwork.recovery")

MAX_ATTEMPTS = 2  # the first run and one retry


def recover(
    store: Store,
    queue: TaskQueue,
    *,
    why: str,
    worker: str | None = None,
    worker_like: str | None = None,
    stale_before: float | None = None,
) -> tuple[int, int]:
    """Re-queue (once) or fail the tasks a lost worker held; returns (re-queued, failed)."""
    requeued = failed = 0
    held = store.held(worker=worker, worker_like=worker_like, stale_before=stale_before)
    for task in held:
        if task["attempts"] < MAX_ATTEMPTS and store.requeue(
            task["id"], task["worker"], f"re-queued: {why}\n"
        ):
            queue.enqueue(task["id"], task["app"], turn=task.get("turn") or 0)
            requeued += 1
            continue
        message = f"{why} while this task was running, on its last attempt; run it again"
        failed += store.fail(task["id"], EngineFailed(message, code="interrupted"))
    if requeued or failed:
        log.warning("%s: %d task(s) re-queued, %d failed", why, requeued, failed)
    return requeued, failed


def expire(store: Store, older_than: float) -> int:
    """Fail the tasks that waited for a worker longer than ``older_than`` seconds."""
    count = 0
    for task_id in store.waiting_since(time.time() - older_than):
        message = f"expired: no worker took this task within {older_than:g} s"
        count += store.fail(
            task_id,
            EngineFailed(message, code="expired"),
            expect=(TaskStatus.RECEIVED, TaskStatus.QUEUED),
        )
    return count


class Reaper(Periodic):
    """A thread that recovers the tasks of workers whose heartbeat went quiet, and expires
    tasks that waited too long."""

    name = "reaper"

    def __init__(
        self, store: Store, queue: TaskQueue, stale_after: float, every: float, expiry: float
    ):
        super().__init__(every)
        self.store, self.queue = store, queue
        self.stale_after, self.expiry = stale_after, expiry

    def run_once(self) -> None:
        recover(
            self.store,
            self.queue,
            why="its worker stopped answering",
            stale_before=time.time() - self.stale_after,
        )
        expire(self.store, self.expiry)
