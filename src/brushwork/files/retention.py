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
import time

from brushwork.files.store import FileStore
from brushwork.tasks.periodic import Periodic
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


class Sweeper(Periodic):
    """A thread in each API process that sweeps at start and every ``every`` seconds (one
    server at a time wins the lease); none when everything is kept forever."""

    name = "retention"

    def __init__(self, store: Store, files: FileStore, keep_days: float, every: float):
        super().__init__(every, at_start=True)
        self.store, self.files, self.keep_days = store, files, keep_days

    def start(self) -> None:
        if self.keep_days > 0:
            super().start()

    def run_once(self) -> None:
        sweep(self.store, self.files, self.keep_days)
