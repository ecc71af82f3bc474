"""Sessions (SPEC §8): list, get (the version history), keepalive, end (idempotent)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from brushwork.contract import Session, SessionPage
from brushwork.server import sessions
from brushwork.server.services import owner, paged, services

router = APIRouter(tags=["sessions"])


def _answer(session: Session) -> JSONResponse:
    return JSONResponse(session.model_dump(mode="json"))


@router.get("/sessions", operation_id="list_sessions", response_model=SessionPage)
def list_sessions(
    request: Request,
    who: str = Depends(owner),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, pattern=r"^[0-9]+$", description="next_cursor of a page"),
) -> JSONResponse:
    """Your sessions, newest first."""
    svc = services(request)
    page, more, next_cursor = paged(
        lambda n, before: svc.store.list_sessions(who, limit=n, before=before), limit, cursor
    )
    base = svc.files_base(request)
    body = SessionPage(
        data=[sessions.render(svc, r, base) for r in page], has_more=more, next_cursor=next_cursor
    )
    return JSONResponse(body.model_dump(mode="json"))


@router.get("/sessions/{session_id}", operation_id="get_session", response_model=Session)
def get_session(session_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    """A session with its calls (oldest first) and its latest output."""
    svc = services(request)
    row = sessions.find(svc, who, session_id)
    return _answer(sessions.render(svc, row, svc.files_base(request)))


@router.post(
    "/sessions/{session_id}/keepalive", operation_id="keepalive_session", response_model=Session
)
def keepalive(session_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    """Reset the idle clock; 410 once it has ended or expired."""
    svc = services(request)
    row = sessions.keepalive(svc, who, session_id)
    return _answer(sessions.render(svc, row, svc.files_base(request)))


@router.delete("/sessions/{session_id}", operation_id="end_session", response_model=Session)
def end_session(session_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    """End it (idempotent): later calls in it answer 410 session_ended."""
    svc = services(request)
    row = sessions.end(svc, who, session_id)
    return _answer(sessions.render(svc, row, svc.files_base(request)))
