"""What the routes use, built once by ``create_app``: settings, store, files, queue, apps."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue as MPQueue
from multiprocessing.synchronize import Semaphore
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from brushwork.apps.registry import Registry
from brushwork.errors import NotFound, Unauthorized
from brushwork.files.faults import storage_full
from brushwork.files.store import FileStore, open_files
from brushwork.server.limits import RateLimiter
from brushwork.settings import Settings
from brushwork.tasks.events import TaskEvents
from brushwork.tasks.queue import TaskQueue
from brushwork.tasks.store import DEV_OWNER, Store

FULL_MEMORY_SECONDS = 10.0  # a disk write that found no room counts as "full" this long


@dataclass
class Services:
    settings: Settings
    store: Store
    files: FileStore
    queue: TaskQueue
    registry: Registry
    limiter: RateLimiter
    events: TaskEvents

    @classmethod
    def build(
        cls,
        settings: Settings,
        doorbell: Semaphore | None = None,
        finished: MPQueue[Any] | None = None,
    ) -> Services:
        store = Store(settings.database)
        registry = Registry(settings)
        queue = TaskQueue(settings.queue, doorbell, apps=list(registry.apps))
        store.on_change = queue.publish_change if queue.redis is not None else None
        return cls(
            settings=settings,
            store=store,
            files=open_files(
                settings.files_url, settings.files_dir, store, settings.max_bytes_per_key
            ),
            queue=queue,
            registry=registry,
            limiter=RateLimiter(settings.submissions_per_minute),
            events=TaskEvents(finished, redis=queue.redis),
        )

    def files_base(self, request: Request) -> str:
        return self.settings.public_url or str(request.base_url)

    def storage_full(self, *, probe_only: bool = False) -> bool:
        """True while the data directory (the task store, the queue, local files) has less
        free space than BRUSHWORK_MIN_FREE_MB, or while the last write found no room (a
        bucket: until a write succeeds; a disk: for FULL_MEMORY_SECONDS, then the probe
        decides); false again by itself once space is freed."""
        try:
            free: int | None = shutil.disk_usage(self.settings.data_dir).free
        except OSError:
            free = None
        local = self.files.free_bytes()
        lowest = min((f for f in (free, local) if f is not None), default=None)
        if lowest is not None and lowest < self.settings.min_free_mb * 1024 * 1024:
            return True
        failed = self.files.full_since
        if failed is None or probe_only:
            return False
        return self.files.backend == "s3" or time.time() - failed < FULL_MEMORY_SECONDS

    def require_room(self, what: str) -> None:
        """507 before anything is written, rather than a task that cannot run. Only the
        free-space probe counts here: a failed write must not stop the next one trying."""
        if self.storage_full(probe_only=True):
            raise storage_full(what)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def deleted_before(svc: Services, kind: str, item_id: str, who: str) -> Response:
    """DELETE of a task or file that is not (or no longer) there: 204 when this owner deleted
    it already (deleting is idempotent), else 404."""
    if svc.store.was_deleted(item_id, kind, who):
        return Response(status_code=204)
    raise NotFound(f"{kind} {item_id!r} not found", param="id")


def paged(
    fetch: Callable[[int, int | None], list[dict[str, Any]]], limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], bool, str | None]:
    """One page, newest first: (rows, has_more, next_cursor). ``fetch(n, before_seq)``."""
    before = min(int(cursor), 2**62) if cursor is not None else None  # past every row
    rows = fetch(limit + 1, before)
    page, more = rows[:limit], len(rows) > limit
    return page, more, str(page[-1]["seq"]) if more else None


def poll_interval(elapsed: float) -> float:
    """How long a progress stream sleeps between reads of the store: 5 ms at first, backing
    off to 50 ms (streams show progress; waiting for the end is event-driven)."""
    return min(0.05, 0.005 + elapsed * 0.02)


def owner(request: Request) -> str:
    """The key's owner id; in dev mode a request without a key belongs to the dev owner."""
    svc = services(request)
    header = request.headers.get("authorization")
    if header:
        scheme, _, key = header.partition(" ")
        found = svc.store.owner_of_key(key.strip()) if scheme.lower() == "bearer" else None
        if found is not None:
            return found
        if not svc.settings.dev:  # compat: in dev mode clients that must send a key may send any
            raise Unauthorized("invalid or revoked API key; send 'Authorization: Bearer <api key>'")
    if svc.settings.dev:
        return DEV_OWNER
    raise Unauthorized("missing API key: send the header 'Authorization: Bearer <api key>'")
