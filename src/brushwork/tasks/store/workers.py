"""Worker processes: who is alive (for /health and /metrics) and which tasks each holds
(heartbeats; ``recovery`` re-queues what a quiet worker held); and leases, so that a job
many API servers run (the retention sweep) has one holder at a time."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from brushwork.tasks.store.tables import HELD, Room, leases, tasks, workers


class Workers(Room):
    def heartbeat(self, task_id: str, worker: str) -> None:
        query = (
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.worker == worker)
            .where(tasks.c.status.in_([int(s) for s in HELD]))
            .values(heartbeat_at=time.time())
        )
        with self.engine.begin() as conn:
            conn.execute(query)

    def held(
        self,
        *,
        worker: str | None = None,
        worker_like: str | None = None,
        stale_before: float | None = None,
    ) -> list[dict[str, Any]]:
        """Tasks a worker holds (picked up, not finished): of one worker, or gone quiet."""
        query = select(
            tasks.c.id, tasks.c.app, tasks.c.worker, tasks.c.attempts, tasks.c.status
        ).where(tasks.c.status.in_([int(s) for s in HELD]))
        if worker is not None:
            query = query.where(tasks.c.worker == worker)
        if worker_like is not None:
            query = query.where(tasks.c.worker.like(worker_like))
        if stale_before is not None:
            query = query.where(tasks.c.heartbeat_at < stale_before)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def worker_seen(self, name: str, pid: int, apps: list[str]) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            found = conn.execute(
                update(workers).where(workers.c.name == name).values(last_seen=now, pid=pid)
            ).rowcount
            if not found:
                conn.execute(
                    insert(workers).values(
                        name=name, pid=pid, apps=apps, started_at=now, last_seen=now
                    )
                )

    def worker_serves(self, name: str, app: str, seen_after: float) -> bool:
        """Whether worker ``name`` was seen since ``seen_after`` and takes tasks of ``app``."""
        query = select(workers.c.apps).where(
            workers.c.name == name, workers.c.last_seen > seen_after
        )
        with self.engine.connect() as conn:
            apps = conn.execute(query).scalar()
        return apps is not None and app in apps

    def worker_gone(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(workers.delete().where(workers.c.name == name))

    def count_workers(self, seen_after: float) -> int:
        query = select(func.count()).select_from(workers).where(workers.c.last_seen > seen_after)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def take_lease(self, name: str, holder: str, seconds: float, now: float | None = None) -> bool:
        """Hold ``name`` for ``seconds`` if it is free, expired, or already ours."""
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(leases)
                .where(leases.c.name == name, (leases.c.until < now) | (leases.c.holder == holder))
                .values(holder=holder, until=now + seconds)
            ).rowcount
        if taken:
            return True
        try:  # never held yet: the first to insert it holds it
            with self.engine.begin() as conn:
                conn.execute(insert(leases).values(name=name, holder=holder, until=now + seconds))
        except IntegrityError:
            return False
        return True
