"""Sessions on the API side (SPEC §8): which session a call belongs to, refused with the
contract's errors before anything is stored, and a session rendered as the typed model.

Both protocol roots use these; the store keeps the record (``tasks/store/sessions.py``) and
the worker keeps the order and resolves the edit chain when a call runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from brushwork.contract import (
    DEFAULT_SESSION_TIMEOUT,
    MAX_SESSION_TIMEOUT,
    MIN_SESSION_TIMEOUT,
    Session,
    absolute_output,
    iso,
)
from brushwork.errors import Conflict, Gone, InvalidInput, NotFound
from brushwork.server.services import Services

NEW = "new"
_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class CallSession:
    """The session a call runs in: an existing one, or one to create once the call passes."""

    id: str | None  # None: "new", made when the task is recorded
    timeout: int | None
    parent_id: str | None  # the newest earlier call: the one this call follows


def check_timeout(timeout: Any) -> int | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise InvalidInput(
            f"session_timeout must be a whole number of seconds, got {timeout!r}",
            param="session_timeout",
        )
    if not MIN_SESSION_TIMEOUT <= timeout <= MAX_SESSION_TIMEOUT:
        raise InvalidInput(
            f"session_timeout must be between {MIN_SESSION_TIMEOUT} and {MAX_SESSION_TIMEOUT} "
            f"seconds, got {timeout}",
            param="session_timeout",
        )
    return timeout


def for_call(svc: Services, who: str, app: str, session: Any, timeout: Any) -> CallSession | None:
    """The session a call names, or None; refuses (404/409/410/400) before anything is
    stored."""
    timeout = check_timeout(timeout)
    if session is None:
        if timeout is not None:
            raise InvalidInput("session_timeout needs a session", param="session_timeout")
        return None
    if not isinstance(session, str) or not (session == NEW or _ID.fullmatch(session)):
        raise InvalidInput(
            f'session must be "new" or a session id, got {str(session)[:80]!r}', param="session"
        )
    if session == NEW:
        return CallSession(None, timeout, None)
    row = require(svc, who, session)
    if row["app"] != app:
        raise Conflict(
            f"session {session} belongs to app {row['app']!r}, not {app!r}",
            param="app",
            code="session_app_mismatch",
        )
    return CallSession(session, timeout, svc.store.last_call(session))


def require(svc: Services, who: str, session_id: str) -> dict[str, Any]:
    """An active session of ``who``: 404 (unknown or not theirs), 410 (ended or expired)."""
    row = find(svc, who, session_id)
    state = svc.store.session_state(row)
    if state == "ended":
        raise Gone(f"session {session_id} has ended", param="session", code="session_ended")
    if state == "expired":
        raise Gone(
            f"session {session_id} expired after {row['idle_timeout']} idle seconds",
            param="session",
            code="session_expired",
        )
    return row


def find(svc: Services, who: str, session_id: str) -> dict[str, Any]:
    row = svc.store.get_session(session_id, who) if _ID.fullmatch(session_id) else None
    if row is None:  # another key's session looks exactly like a missing one
        raise NotFound(
            f"session {session_id!r} not found", param="session", code="session_not_found"
        )
    return row


def keepalive(svc: Services, who: str, session_id: str) -> dict[str, Any]:
    """Reset an active session's idle clock (410 once it ended or expired); its row after."""
    require(svc, who, session_id)
    svc.store.touch_session(session_id)
    return find(svc, who, session_id)


def end(svc: Services, who: str, session_id: str) -> dict[str, Any]:
    """End a session of ``who`` (idempotent); its row after."""
    find(svc, who, session_id)
    svc.store.end_session(session_id)
    return find(svc, who, session_id)


def start(svc: Services, who: str, app: str, call: CallSession) -> str:
    """The session's id, creating it for ``"new"``; the call resets its idle clock."""
    session_id = call.id
    if session_id is None:
        row = svc.store.create_session(who, app, call.timeout or DEFAULT_SESSION_TIMEOUT)
        session_id = str(row["id"])
    svc.store.touch_session(session_id, idle_timeout=call.timeout, call=True)
    return session_id


def render(svc: Services, row: dict[str, Any], files_base: str) -> Session:
    found = svc.store.latest_output(row["id"])
    latest = None
    if found is not None:
        latest = (absolute_output({"images": [found[1]]}, files_base) or {})["images"][0]
    return Session.model_validate(
        {
            "id": row["id"],
            "app": row["app"],
            "status": svc.store.session_state(row),
            "created_at": iso(row["created_at"]),
            "expires_at": iso(row["expires_at"]),
            "ended_at": iso(row["ended_at"]),
            "idle_timeout": row["idle_timeout"],
            "call_count": row["call_count"],
            "last_call_at": iso(row["last_call_at"]),
            "tasks": svc.store.session_tasks(row["id"]),
            "latest": latest,
        }
    )
