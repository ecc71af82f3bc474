"""Sessions (SPEC §8): one key's conversation of passes over one picture with one app.

A session lives in the store, not in a process: it survives restarts of API servers and
workers, and it expires by its idle clock (``expires_at``, pushed forward by every call and
by keepalives), never because a process went away. Its calls are the tasks that carry its
id, in submission order; a call runs only once every earlier one has ended (the worker
asks :meth:`Sessions.waits_behind`), and a call without images edits the first image of
the last call that completed before it (:meth:`Sessions.latest_output`), which is also
the session's latest picture: derived from its calls, never stored twice.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from sqlalchemy import insert, select, update

from brushwork.contract import TERMINAL, TaskStatus
from brushwork.tasks.store.tables import Room, new_id, sessions, tasks

SessionState = Literal["active", "ended", "expired"]
_UNFINISHED = tasks.c.status.notin_([int(s) for s in TERMINAL])
LATEST_LOOKBACK = 16  # completed calls read back to find one that drew (empty calls do not)


class Sessions(Room):
    def create_session(self, owner: str, app: str, idle_timeout: int) -> dict[str, Any]:
        now = time.time()
        row = {
            "id": new_id(),
            "owner": owner,
            "app": app,
            "idle_timeout": idle_timeout,
            "created_at": now,
            "expires_at": now + idle_timeout,
            "call_count": 0,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(sessions).values(**row))
        found = self.get_session(str(row["id"]), owner)
        assert found is not None
        return found

    def get_session(self, session_id: str, owner: str | None = None) -> dict[str, Any] | None:
        query = select(sessions).where(sessions.c.id == session_id)
        if owner is not None:
            query = query.where(sessions.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def list_sessions(
        self, owner: str, *, limit: int, before: int | None = None
    ) -> list[dict[str, Any]]:
        query = select(sessions).where(sessions.c.owner == owner)
        if before is not None:
            query = query.where(sessions.c.seq < before)
        query = query.order_by(sessions.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def session_state(self, row: dict[str, Any], now: float | None = None) -> SessionState:
        """Ended by its owner, expired by its idle clock (never while a call is unfinished),
        or active."""
        if row["ended_at"] is not None:
            return "ended"
        now = time.time() if now is None else now
        if now >= row["expires_at"] and not self.session_busy(row["id"]):
            return "expired"
        return "active"

    def session_busy(self, session_id: str) -> bool:
        query = select(tasks.c.id).where(tasks.c.session_id == session_id, _UNFINISHED)
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def session_tasks(self, session_id: str) -> list[str]:
        """Its calls, oldest first."""
        query = (
            select(tasks.c.id)
            .where(tasks.c.session_id == session_id, tasks.c.deleted_at.is_(None))
            .order_by(tasks.c.seq)
        )
        with self.engine.connect() as conn:
            return [str(r) for r in conn.execute(query).scalars()]

    def last_call(self, session_id: str) -> str | None:
        """The session's newest call (the parent of the next one)."""
        query = (
            select(tasks.c.id)
            .where(tasks.c.session_id == session_id)
            .order_by(tasks.c.seq.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else str(found)

    def touch_session(
        self, session_id: str, *, idle_timeout: int | None = None, call: bool = False
    ) -> None:
        """Reset the idle clock (a call or a keepalive); a call also counts."""
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(sessions.c.idle_timeout).where(sessions.c.id == session_id)
            ).first()
            if row is None:
                return
            timeout = idle_timeout or row.idle_timeout
            values: dict[str, Any] = {"idle_timeout": timeout, "expires_at": now + timeout}
            if call:
                values |= {"last_call_at": now, "call_count": sessions.c.call_count + 1}
            conn.execute(update(sessions).where(sessions.c.id == session_id).values(**values))

    def end_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
                .values(ended_at=time.time())
            )

    def session_call_ended(self, session_id: str, worker: str) -> None:
        """A call ended: its worker is the warm one, and the idle clock starts again."""
        values = {"expires_at": sessions.c.idle_timeout + time.time(), "worker": worker}
        with self.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id == session_id).values(**values))

    def waits_behind(self, task: dict[str, Any]) -> bool:
        """True while an earlier call of the task's session has not ended."""
        query = select(tasks.c.id).where(
            tasks.c.session_id == task["session_id"], tasks.c.seq < task["seq"], _UNFINISHED
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def latest_output(
        self, session_id: str, before_seq: int | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """(task id, first image) of the session's last completed call that is not deleted
        (before the call ``before_seq``, when given), or None when there is none."""
        query = select(tasks.c.id, tasks.c.output).where(
            tasks.c.session_id == session_id,
            tasks.c.status == int(TaskStatus.COMPLETED),
            tasks.c.deleted_at.is_(None),
        )
        if before_seq is not None:
            query = query.where(tasks.c.seq < before_seq)
        query = query.order_by(tasks.c.seq.desc()).limit(LATEST_LOOKBACK)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                if (row.output or {}).get("images"):  # an empty call drew nothing: past it
                    return str(row.id), dict(row.output["images"][0])
        return None
