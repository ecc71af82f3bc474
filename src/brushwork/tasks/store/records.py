"""Tasks and their event log (for stream replay and wake-ups).

A task is recorded (and queued) by :meth:`TaskRecords.create_task`, and every later change —
a worker's progress, the end, a re-queue after a lost worker — goes through
:meth:`TaskRecords._write`: one transaction that changes the row only if it is still in an
allowed state, appends the matching event, and, once committed, publishes the change
(``on_change``: the API servers of other machines learn of it through Redis). A terminal
task is never changed again, so a cancelled task can never be completed by a slow worker.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, case, delete, func, insert, select, update

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


# The statements a task's life runs through, built once with bound parameters: building and
# keying a statement per call cost SQLAlchemy ten times what SQLite spent running it (0.7 ms
# against 0.06 for a status write), several times over for every task.
_INSERT_TASK = insert(tasks).returning(*tasks.c)
_INSERT_EVENTS = insert(task_events)
_GET = select(tasks).where(tasks.c.id == bindparam("task_id"))
_GET_OWNED = _GET.where(tasks.c.owner == bindparam("owner"), tasks.c.deleted_at.is_(None))
_STATUS = select(tasks.c.status).where(tasks.c.id == bindparam("task_id"))
_FOR_APP, _FOR_OWNER = tasks.c.app == bindparam("app"), tasks.c.owner == bindparam("owner")
_TURN = func.coalesce(tasks.c.turn, 0)
_WAITING = select(
    func.coalesce(func.sum(case((_FOR_APP, 1), else_=0)), 0),
    func.coalesce(func.sum(case((_FOR_OWNER, 1), else_=0)), 0),
    func.min(case((_FOR_APP, _TURN))),
    func.max(case((_FOR_APP & _FOR_OWNER, _TURN))),
).where(_in(WAITING), _FOR_APP | _FOR_OWNER)
# columns an update computes from the row rather than sets: ``logs`` appends ``append_log``
_COMPUTED: dict[str, ColumnElement[Any]] = {
    "attempts": tasks.c.attempts + 1,  # a worker claims the task
    "webhook_state": case((tasks.c.webhook.isnot(None), "pending"), else_=None),  # it ended
    "logs": tasks.c.logs + bindparam("append_log", type_=tasks.c.logs.type),
}
# which tasks an update may change: ("open", states) not terminal (and, if any are named, in
# one of ``states``); ("held by", ()) held by the worker ``held_by``; ("held by none", ())
Guard = tuple[str, tuple[TaskStatus, ...]]


def _event(
    task_id: str,
    status: TaskStatus,
    progress: int,
    log: str | None,
    output: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event of the task's log, as the row ``_INSERT_EVENTS`` writes."""
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
    return {"task_id": task_id, "payload": payload}


@functools.cache
def _update(columns: tuple[str, ...], guard: Guard) -> Update:
    """The update of ``columns`` (bound by their names, or as ``_COMPUTED`` says) to the task
    ``task_id`` where ``guard`` holds, reading back its status and progress."""
    kind, states = guard
    where = [tasks.c.id == bindparam("task_id")]
    if kind == "open":
        where += [_NOT_TERMINAL, _in(states)] if states else [_NOT_TERMINAL]
    else:
        held_by = bindparam("held_by", type_=tasks.c.worker.type)
        where += [_in(HELD), tasks.c.worker == held_by if kind == "held by" else
                  tasks.c.worker.is_(None)]  # fmt: skip
    values = {
        c: _COMPUTED[c] if c in _COMPUTED else bindparam(c, type_=tasks.c[c].type) for c in columns
    }
    return update(tasks).where(*where).values(values).returning(tasks.c.status, tasks.c.progress)


class TaskRecords(Room):
    # told the id and new status of each task that changed, after the change is committed
    on_change: Callable[[str, TaskStatus], None] | None = None

    def _write(
        self,
        task_id: str,
        values: dict[str, Any],
        *,
        guard: Guard = ("open", ()),
        held_by: str | None = None,
        computed: tuple[str, ...] = (),
        log: str | None = None,
        output: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        preview: dict[str, Any] | None = None,
    ) -> bool:
        """The one way a task changes: set ``values`` (and the ``computed`` columns) where
        ``guard`` holds, append its event (with the status and progress the update read back
        in the same statement), commit, publish. False, changing nothing, when ``guard``
        fails."""
        params = dict(values, task_id=task_id, held_by=held_by)
        if log:
            computed += ("logs",)
            params["append_log"] = log
        statement = _update(tuple(sorted(values)) + tuple(sorted(computed)), guard)
        with self.engine.begin() as conn:
            row = conn.execute(statement, params).first()
            if row is None:
                return False
            event = _event(task_id, TaskStatus(row.status), row.progress, log, output, error,
                           preview)  # fmt: skip
            conn.execute(_INSERT_EVENTS, [event])
        self._changed(task_id, TaskStatus(row.status))
        return True

    def _changed(self, task_id: str, status: TaskStatus) -> None:
        if self.on_change is not None:
            try:
                self.on_change(task_id, status)
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
        events = [_event(task_id, TaskStatus.RECEIVED, 0, log)]
        if queued:  # recorded and queued in one commit: both events, as if written in turn
            row["status"] = int(TaskStatus.QUEUED)
            events.append(_event(task_id, TaskStatus.QUEUED, 0, None))
        with self.engine.begin() as conn:
            task = dict(conn.execute(_INSERT_TASK, [row]).mappings().one())
            conn.execute(_INSERT_EVENTS, events)
        self._changed(task_id, TaskStatus(task["status"]))
        return task

    def get_task(self, task_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """A task; with ``owner`` (the API's view), only that owner's and never a deleted one."""
        query, params = (_GET, {"task_id": task_id}) if owner is None else (
            _GET_OWNED, {"task_id": task_id, "owner": owner})  # fmt: skip
        with self.engine.connect() as conn:
            row = conn.execute(query, params).mappings().first()
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
            value = conn.execute(_STATUS, {"task_id": task_id}).scalar()
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
        computed: tuple[str, ...] = ()
        if status is not None:
            values["status"] = int(status)
            if status == TaskStatus.PREPARING:  # a worker claims it
                values["started_at"] = now
                values["heartbeat_at"] = now
                computed = ("attempts",)
            if status.is_terminal():
                values["completed_at"] = now
                # the webhook outbox entry is written in the same transaction as the status
                computed = ("webhook_state",)
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
        return self._write(
            task_id, values, guard=("open", expect or ()), computed=computed, log=log,
            output=output, error=error, preview=preview,
        )  # fmt: skip

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
        values: dict[str, Any] = {"status": int(TaskStatus.QUEUED), "worker": None, "progress": 0}
        guard: Guard = ("held by", ()) if worker else ("held by none", ())
        return self._write(task_id, values, guard=guard, held_by=worker, log=reason)

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
        with self.engine.connect() as conn:
            row = conn.execute(_WAITING, {"app": app, "owner": owner}).one()
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
