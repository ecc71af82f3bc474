"""Retention: uploads and outputs older than ``BRUSHWORK_KEEP_DAYS`` are deleted.

One sweep at a time across every API server: the sweep runs only while its caller holds
the store's ``retention`` lease. The bytes go first, then the records are marked expired,
so the task that made a file keeps its record and the file's URI answers 410 ``expired``.
A crash between the two leaves records whose bytes are gone, which ``files check`` repairs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from brushwork.files.store import FileStore
from brushwork.tasks.store import Store

log = logging.getLogger("brushwork.retention")
LEASE = "retention"
DAY = 86400.0


def sweep(
    store: Store,
    files: FileStore,
    keep_days: float,
    *,
    now: float | None = None,
    holder: str | None = None,
    batch: int = 500,
) -> int:
    """Delete what is past retention; returns how many files. Nothing while another holds the
    lease, or when ``keep_days`` is 0 (keep forever)."""
    if keep_days <= 0:
        return 0
    now = time.time() if now is None else now
    holder = holder or f"{socket.gethostname()}-{os.getpid()}"
    swept = 0
    while store.take_lease(LEASE, holder, seconds=120, now=now):
        due = store.files_created_before(now - keep_days * DAY, limit=batch)
        if not due:
            break
        files.delete(due)
        store.expire_files(due, now)
        swept += len(due)
    if swept:
        log.info("retention: %d file(s) older than %g days deleted", swept, keep_days)
    return swept


class Sweeper:
    """A thread in each API process that sweeps every ``every`` seconds (one wins the lease)."""

    def __init__(self, store: Store, files: FileStore, keep_days: float, every: float):
        self.store, self.files, self.keep_days, self.every = store, files, keep_days, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.keep_days > 0:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="retention")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        while True:
            try:
                sweep(self.store, self.files, self.keep_days)
            except Exception:
                log.exception("retention sweep failed; trying again later")
            if self._stop.wait(self.every):
                return
