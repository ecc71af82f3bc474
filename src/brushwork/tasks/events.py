"""Wake the requests that wait on a task the moment a worker says it ended.

On one machine, workers put the id of each task they finish on a
multiprocessing queue; with Redis, every change of a task is published on a
channel that every API server subscribes to, as "id status" (a plain "id", as
versions before the status was sent published, wakes every watcher). A thread
reads the notices and sets the asyncio events of the coroutines watching that
task (waits, task streams, OpenAI streams); a wait for the end is woken by the
end only. The store stays the record: a watcher re-reads it after
each wake, and still looks on its own in case a notice was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue as stdlib_queue
import threading
from collections.abc import Iterator
from multiprocessing.queues import Queue as MPQueue
from typing import Any

from brushwork.contract import TaskStatus

# How long a wait for the end trusts the notices before it reads the store on its own. Under
# load a task waits most of a second in the queue, and at 0.25 s each wait read its status four
# times (a tenth of the API's CPU per task, bench/throughput.py); a notice that goes missing
# (a worker killed between its write and its notice, Redis away) costs at most this much.
FALLBACK_SECONDS = 1.0


def _ended(status: str) -> bool | None:
    """Whether a notice's status is an end; None (it may be) when it names none it knows."""
    try:
        return TaskStatus(int(status)).is_terminal()
    except ValueError:
        return None


class TaskEvents:
    def __init__(self, source: MPQueue[Any] | None = None, redis: Any = None):
        self.source = source
        self.redis = redis
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event, bool]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        target = self._listen if self.source is not None else None
        if self.redis is not None:
            target = self._subscribe
        if target is not None:
            self._thread = threading.Thread(target=target, daemon=True, name="task-events")
            self._thread.start()

    def _subscribe(self) -> None:
        from brushwork.tasks.queue import CHANGED

        while not self._stop.is_set():
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANGED)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        task_id, _, status = message["data"].decode().partition(" ")
                        self.notify(task_id, _ended(status))
            except Exception:  # Redis away: watchers fall back to reading the store
                self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def _listen(self) -> None:
        assert self.source is not None
        while not self._stop.is_set():
            try:
                task_id = self.source.get(timeout=0.5)
            except (stdlib_queue.Empty, OSError, EOFError):
                continue
            self.notify(str(task_id))

    def notify(self, task_id: str, ended: bool | None = None) -> None:
        """Wake the watchers of ``task_id``: all of them, or, when it did not end (``ended``
        False), those that watch every change."""
        with self._lock:
            waiters = list(self._waiters.get(task_id, ()))
        for loop, event, ends_only in waiters:
            if ends_only and ended is False:
                continue
            with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits
                loop.call_soon_threadsafe(event.set)

    @contextlib.contextmanager
    def watch(self, task_id: str, ends_only: bool = False) -> Iterator[asyncio.Event]:
        """An event set whenever ``task_id`` may have changed (with ``ends_only``, may have
        ended); register before reading the store."""
        entry = (asyncio.get_running_loop(), asyncio.Event(), ends_only)
        with self._lock:
            self._waiters.setdefault(task_id, []).append(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._waiters[task_id].remove(entry)
                if not self._waiters[task_id]:
                    del self._waiters[task_id]


async def woken(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` (then clear it) or ``timeout`` seconds, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
    event.clear()
