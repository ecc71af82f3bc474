"""Wake the requests that wait on a task the moment a worker says it ended.

Workers put the id of each task they finish on a multiprocessing queue; a
thread in the API process reads it and sets the asyncio events of the
coroutines waiting on that task (``POST /apps/run`` with ``wait``, the OpenAI
endpoints). The store stays the record: a waiter re-reads it after each wake,
and still looks every quarter second in case a notice was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue as stdlib_queue
import threading
from collections.abc import Iterator
from multiprocessing.queues import Queue as MPQueue
from typing import Any

FALLBACK_SECONDS = 0.25


class TaskEvents:
    def __init__(self, source: MPQueue[Any] | None = None):
        self.source = source
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.source is not None:
            self._thread = threading.Thread(target=self._listen, daemon=True, name="task-events")
            self._thread.start()

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

    def notify(self, task_id: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(task_id, ()))
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits
                loop.call_soon_threadsafe(event.set)

    @contextlib.contextmanager
    def watch(self, task_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever ``task_id`` may have ended; register before reading the store."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
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
