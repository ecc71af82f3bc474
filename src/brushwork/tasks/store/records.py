"""Tasks and their event log (for stream replay and wake-ups).

Every status change — recording a task, queueing it, a worker's progress, the end, a
re-queue after a lost worker — goes through :meth:`TaskRecords._write`: one transaction
that changes the row only if it is still in an allowed state, appends the matching event,
and, once committed, publishes the change (``on_change``: the API servers of other machines
learn of it through Redis). A terminal task is never changed again, so a cancelled task can
never be completed by a slow worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, select, update

from brushwork.contract import TERMINAL, TaskStatus, file_uris
from brushwork.errors import BrushworkError, Conflict
from brushwork.tasks.store.tables import (
    HELD,
    WAITING,
    Room,
    deletions,
    files,
    new_id,
    task_events,
    tasks,
)

log = logging.getLogger("brushwork.store")


@dataclass(frozen=True)
class Waiting:
    """Tasks waiting for a worker: for the app, for the key; and a new task's turn."""

    for_app: int
    for_owner: int
    turn: int


_NOT_TERMINAL = tasks.c.status.notin_([int(s) for s in TERMINAL])


def _in(statuses: tuple[TaskStatus, ...]) -> ColumnElement[bool]:
    return tasks.c.status.in_([int(s) for s in statuses])


class TaskRecords(Room):
    # told the id of each task that changed, after the change is committed
    on_change: Callable[[str], None] | None = None

    def _write(
        self,
        task_id: str,
        values: dict[str, Any],
        *,
        where: tuple[ColumnElement[bool], ...] = (),
        log: str | None = None,
        output: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        preview: dict[str, Any] | None = None,
        new: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The one way a task changes: (insert ``new``, then) update it where ``where`` holds,
        append its event, commit, publish. Answers what the update read back in the same
        statement: the whole row after an insert (what :meth:`create_task` answers), else its
        status and progress; ``{}`` for an insert alone; None, changing nothing, when
        ``where`` fails."""
        if log:
            values = {**values, "logs": tasks.c.logs + log}
        written: dict[str, Any] = {}
        with self.engine.begin() as conn:
            if new is not None:
                conn.execute(insert(tasks).values(**new))
                self._event(conn, task_id, TaskStatus(new["status"]), 0, new["logs"])
            if values:
                back = list(tasks.c) if new is not None else [tasks.c.status, tasks.c.progress]
                query = (
                    update(tasks)
                    .where(tasks.c.id == task_id, *where)
                    .values(**values)
                    .returning(*back)
                )
                row = conn.execute(query).mappings().first()
                if row is None:
                    return None  # nothing was written (``new`` always comes with a match)
                written = dict(row)
                self._event(
                    conn, task_id, TaskStatus(written["status"]), written["progress"], log,
                    output, error, preview,
                )  # fmt: skip
        self._changed(task_id)
        return written

    def _changed(self, task_id: str) -> None:
        if self.on_change is not None:
            try:
                self.on_change(task_id)
            except Exception:  # a missed notice only delays a wake-up; the record is safe
                log.warning("change notice for %s failed", task_id)

    def create_task(
        self,
        *,
        owner: str,
        app: str,
        input: dict[str, Any],
        file_ids: dict[str, Any],
        session_id: str | None = None,
        parent_id: str | None = None,
        webhook: str | None = None,
        log: str = "",
        options: dict[str, Any] | None = None,
        queued: bool = False,
        turn: int | None = None,
    ) -> dict[str, Any]:
        """Record a task (status 1) and, with ``queued``, queue it (2) in the same commit."""
        now = time.time()
        task_id = new_id()
        row = {
            "id": task_id,
            "owner": owner,
            "app": app,
            "status": int(TaskStatus.RECEIVED),
            "input": input,
            "files": file_ids,
            "logs": log,
            "progress": 0,
            "session_id": session_id,
            "parent_id": parent_id,
            "webhook": webhook,
            "webhook_attempts": [],
            "attempts": 0,
            "options": options or {},
            "turn": turn,
            "created_at": now,
            "updated_at": now,
        }
        written = self._write(
            task_id, {"status": int(TaskStatus.QUEUED)} if queued else {}, new=row
        )
        task = written or self.get_task(task_id)
        assert task is not None
        return task

    def get_task(self, task_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """A task; with ``owner`` (the API's view), only that owner's and never a deleted one."""
        query = select(tasks).where(tasks.c.id == task_id)
        if owner is not None:
            query = query.where(tasks.c.owner == owner, tasks.c.deleted_at.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def list_tasks(
        self, owner: str, *, limit: int, before: int | None = None
    ) -> list[dict[str, Any]]:
        query = select(tasks).where(tasks.c.owner == owner, tasks.c.deleted_at.is_(None))
        if before is not None:
            query = query.where(tasks.c.seq < before)
        query = query.order_by(tasks.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def status_of(self, task_id: str) -> TaskStatus | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id)).scalar()
        return None if value is None else TaskStatus(value)

    def update(
        self,
        task_id: str,
        *,
        status: TaskStatus | None = None,
        progress: int | None = None,
        log: str | None = None,
        output: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        expect: tuple[TaskStatus, ...] | None = None,
        worker: str | None = None,
        preview: dict[str, Any] | None = None,
        timings: tuple[float, float] | None = None,
    ) -> bool:
        """Change a task that is not terminal (and, with ``expect``, in one of those states).

        Returns False, changing nothing, when the task is terminal or not as expected.
        """
        now = time.time()
        values: dict[str, Any] = {"updated_at": now}
        if status is not None:
            values["status"] = int(status)
            if status == TaskStatus.PREPARING:  # a worker claims it
                values["started_at"] = now
                values["heartbeat_at"] = now
                values["attempts"] = tasks.c.attempts + 1
            if status.is_terminal():
                values["completed_at"] = now
                # the webhook outbox entry is written in the same transaction as the status
                values["webhook_state"] = case((tasks.c.webhook.isnot(None), "pending"), else_=None)
                values["webhook_next_at"] = now
        if progress is not None:
            values["progress"] = max(0, min(100, progress))
        if output is not None:
            values["output"] = output
        if error is not None:
            values["error"] = error
        if worker is not None:
            values["worker"] = worker
        if timings is not None:
            values["engine_seconds"], values["encode_seconds"] = timings
        where = (_NOT_TERMINAL,) if expect is None else (_NOT_TERMINAL, _in(expect))
        written = self._write(
            task_id, values, where=where, log=log, output=output, error=error, preview=preview
        )
        return written is not None

    def fail(
        self, task_id: str, error: BrushworkError, expect: tuple[TaskStatus, ...] | None = None
    ) -> bool:
        """End a task FAILED with ``error`` in the SPEC §4 envelope, and say why in its logs."""
        return self.update(
            task_id,
            status=TaskStatus.FAILED,
            error=error.envelope()["error"],
            log=f"failed: {error.message}\n",
            expect=expect,
        )

    def task_files(self, task_id: str, owner: str) -> list[str]:
        """The output and preview files of a terminal task of ``owner`` (what deleting it
        removes). Conflict (409) while it runs; [] when there is no such task."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tasks.c.status, tasks.c.output).where(
                    tasks.c.id == task_id, tasks.c.owner == owner, tasks.c.deleted_at.is_(None)
                )
            ).first()
            if row is None:
                return []
            if not TaskStatus(row.status).is_terminal():
                raise Conflict(
                    f"task {task_id!r} is still running: cancel it first, then delete it",
                    param="id",
                )
            payloads = conn.execute(
                select(task_events.c.payload).where(task_events.c.task_id == task_id)
            ).scalars()
            return _file_ids(row.output, payloads)

    def delete_task(self, task_id: str, owner: str, file_ids: list[str] | None = None) -> list[str]:
        """Delete a terminal task of ``owner`` and the records of its files, ``file_ids`` as
        :meth:`task_files` gave them (whose bytes the caller removed first: on a full disk that
        is what makes room for this transaction). The row stays as a tombstone while its
        webhook is still to be delivered."""
        owned = self.task_files(task_id, owner) if file_ids is None else file_ids
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(tasks.c.webhook_state).where(
                    tasks.c.id == task_id, tasks.c.owner == owner, tasks.c.deleted_at.is_(None)
                )
            ).first()
            if row is None:
                return []
            conn.execute(delete(files).where(files.c.id.in_(owned)))
            conn.execute(delete(task_events).where(task_events.c.task_id == task_id))
            if row.webhook_state == "pending":  # the delivery still reads the row
                conn.execute(update(tasks).where(tasks.c.id == task_id).values(deleted_at=now))
            else:
                conn.execute(delete(tasks).where(tasks.c.id == task_id))
            conn.execute(insert(deletions).values(id=task_id, kind="task", owner=owner, at=now))
        return owned

    def requeue(self, task_id: str, worker: str | None, reason: str) -> bool:
        """Put a task its worker lost back in the queue's hands (status 2), if still held by it."""
        held_by = tasks.c.worker == worker if worker else tasks.c.worker.is_(None)
        values = {"status": int(TaskStatus.QUEUED), "worker": None, "progress": 0}
        return self._write(task_id, values, where=(_in(HELD), held_by), log=reason) is not None

    def _event(
        self,
        conn: Any,
        task_id: str,
        status: TaskStatus,
        progress: int,
        log: str | None,
        output: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        preview: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "at": round(time.time(), 4),  # when it happened (stream latency is measurable)
            "status": int(status),
            "status_name": status.name,
            "progress": progress,
        }
        if log:
            payload["logs"] = log
        if output is not None:
            payload["output"] = output
        if error is not None:
            payload["error"] = error
        if preview is not None:
            payload["preview"] = preview
        conn.execute(insert(task_events).values(task_id=task_id, payload=payload))

    def events_after(self, task_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        query = (
            select(task_events.c.seq, task_events.c.payload)
            .where(task_events.c.task_id == task_id, task_events.c.seq > after)
            .order_by(task_events.c.seq)
        )
        with self.engine.connect() as conn:
            return [(r.seq, r.payload) for r in conn.execute(query)]

    def waiting_counts(self, app: str, owner: str) -> Waiting:
        """What waits for a worker, for ``app`` and for ``owner``, and the turn a new task of
        ``owner`` for ``app`` takes, in one query (a submission needs them all: back-pressure,
        and its place in the app's queue)."""
        for_app, for_owner = tasks.c.app == app, tasks.c.owner == owner
        turn = func.coalesce(tasks.c.turn, 0)
        query = select(
            func.coalesce(func.sum(case((for_app, 1), else_=0)), 0),
            func.coalesce(func.sum(case((for_owner, 1), else_=0)), 0),
            func.min(case((for_app, turn))),
            func.max(case((for_app & for_owner, turn))),
        ).where(_in(WAITING), for_app | for_owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        now, last = row[2], row[3]
        # the round now being served, or the one after this key's last waiting task
        return Waiting(
            int(row[0]), int(row[1]), max(int(now or 0), -1 if last is None else last + 1)
        )

    def count_waiting(self, *, app: str | None = None, owner: str | None = None) -> int:
        query = select(func.count()).select_from(tasks).where(_in(WAITING))
        if app is not None:
            query = query.where(tasks.c.app == app)
        if owner is not None:
            query = query.where(tasks.c.owner == owner)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def waiting_since(self, before: float) -> list[str]:
        """Ids of tasks still waiting for a worker that were created before ``before``."""
        query = select(tasks.c.id).where(_in(WAITING), tasks.c.created_at < before)
        with self.engine.connect() as conn:
            return [str(r) for r in conn.execute(query).scalars()]

    def timing_totals(self) -> dict[str, tuple[float, int]]:
        """(sum, count) of engine and encode seconds over completed tasks."""
        done = tasks.c.status == int(TaskStatus.COMPLETED)
        query = select(
            func.coalesce(func.sum(tasks.c.engine_seconds), 0.0),
            func.coalesce(func.sum(tasks.c.encode_seconds), 0.0),
            func.count(tasks.c.engine_seconds),
        ).where(done)
        with self.engine.connect() as conn:
            engine_sum, encode_sum, count = conn.execute(query).one()
        return {
            "engine": (float(engine_sum), int(count)),
            "encode": (float(encode_sum), int(count)),
        }

    def count_by_status(self) -> dict[int, int]:
        query = select(tasks.c.status, func.count()).group_by(tasks.c.status)
        with self.engine.connect() as conn:
            return {int(s): int(c) for s, c in conn.execute(query)}


def _file_ids(output: dict[str, Any] | None, payloads: Any) -> list[str]:
    """The files a task made: every file its output names (images, masks) and the partial
    renders on its stream."""
    made = file_uris(output)
    refs = [p["preview"] for p in payloads if isinstance(p, dict) and p.get("preview")]
    made += [str(ref["uri"]) for ref in refs if ref.get("uri")]
    return [uri.rsplit("/", 1)[-1] for uri in made]
