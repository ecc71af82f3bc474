"""Tasks: get, list (newest first, paged), cancel (idempotent), and the SSE progress stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from brushwork.contract import Task, TaskPage, TaskStatus, absolute_output
from brushwork.errors import Conflict, NotFound
from brushwork.server.runs import Ended, Quiet, follow_task
from brushwork.server.services import Services, deleted_before, owner, paged, services

router = APIRouter(tags=["tasks"])


def find(svc: Services, task_id: str, who: str) -> dict[str, Any]:
    row = svc.store.get_task(task_id, who)
    if row is None:
        raise NotFound(f"task {task_id!r} not found", param="id")
    return row


def task_response(row: dict[str, Any], base: str, status_code: int = 200) -> JSONResponse:
    return JSONResponse(Task.from_record(row, base).to_json(), status_code=status_code)


@router.get("/tasks/{task_id}", operation_id="get_task", response_model=Task)
def get_task(task_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    return task_response(find(svc, task_id, who), svc.files_base(request))


@router.get("/tasks", operation_id="list_tasks", response_model=TaskPage)
def list_tasks(
    request: Request,
    who: str = Depends(owner),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, pattern=r"^[0-9]+$", description="next_cursor of a page"),
) -> JSONResponse:
    svc = services(request)
    page, more, next_cursor = paged(
        lambda n, before: svc.store.list_tasks(who, limit=n, before=before), limit, cursor
    )
    base = svc.files_base(request)
    return JSONResponse(
        {
            "data": [Task.from_record(r, base).to_json() for r in page],
            "has_more": more,
            "next_cursor": next_cursor,
        }
    )


@router.post("/tasks/{task_id}/cancel", operation_id="cancel_task", response_model=Task)
def cancel_task(task_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    return task_response(cancel(svc, task_id, who), svc.files_base(request))


def cancel(svc: Services, task_id: str, who: str) -> dict[str, Any]:
    """Cancel a task of ``who`` (a finished one stays as it ended); its row afterwards."""
    find(svc, task_id, who)
    svc.store.update(task_id, status=TaskStatus.CANCELLED, log="cancelled by request\n")
    svc.events.notify(task_id)
    return find(svc, task_id, who)


@router.delete(
    "/tasks/{task_id}", operation_id="delete_task", status_code=204, response_class=Response
)
def delete_task(task_id: str, request: Request, who: str = Depends(owner)) -> Response:
    """Delete a finished task and its output files (the bytes too); 409 while it runs.
    Deleting it again answers 204; another key's task is 404."""
    return delete(services(request), task_id, who)


def delete(svc: Services, task_id: str, who: str) -> Response:
    if svc.store.get_task(task_id, who) is None:
        return deleted_before(svc, "task", task_id, who)
    owned = svc.store.task_files(task_id, who)  # 409 while it runs
    svc.files.delete(owned)  # bytes first: on a full disk that frees room for the records
    svc.store.delete_task(task_id, who, owned)
    return Response(status_code=204)


@router.post(
    "/tasks/{task_id}/webhook/redeliver",
    operation_id="redeliver_webhook",
    status_code=202,
    response_model=Task,
)
def redeliver_webhook(task_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    find(svc, task_id, who)
    if not svc.store.redeliver_webhook(task_id):
        raise Conflict("only a finished task that has a webhook can be delivered again", param="id")
    return task_response(find(svc, task_id, who), svc.files_base(request), 202)


EVENTS = {"$ref": "#/components/schemas/TaskUpdate"}  # documented by create_app
STREAM_DOC = (
    "Server-sent events: `update` (a TaskUpdate, its SSE id replays with Last-Event-ID), "
    "then `done` (the final Task)."
)


@router.get(
    "/tasks/{task_id}/stream",
    operation_id="stream_task",
    response_class=StreamingResponse,
    description=STREAM_DOC,
    responses={200: {"content": {"text/event-stream": {"schema": EVENTS}}}},
)
async def stream_task(
    task_id: str,
    request: Request,
    who: str = Depends(owner),
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    svc = services(request)
    await run_in_threadpool(find, svc, task_id, who)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    base = svc.files_base(request)
    return StreamingResponse(
        _events(svc, request, task_id, after, base),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(
    svc: Services, request: Request, task_id: str, after: int, base: str
) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    async for item in follow_task(svc, request, task_id, after):
        if isinstance(item, Ended):
            yield sse("done", Task.from_record(item.row, base).to_json())
        elif isinstance(item, Quiet):
            yield ": keep-alive\n\n"
        else:
            data = {"id": task_id, **item.payload}
            if "output" in data:
                data["output"] = absolute_output(data["output"], base)
            yield sse("update", data, item.seq)
