"""Tasks: get, list (newest first, paged), cancel (idempotent), and the SSE progress stream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from brushwork.contract import TaskStatus
from brushwork.errors import Conflict, InvalidInput, NotFound
from brushwork.server.services import Services, owner, poll_interval, services
from brushwork.tasks.events import woken
from brushwork.tasks.store import absolute_output, task_json

router = APIRouter(tags=["tasks"])
HEARTBEAT_SECONDS = 15.0


def _task(svc: Services, task_id: str, who: str) -> dict[str, Any]:
    row = svc.store.get_task(task_id, who)
    if row is None:
        raise NotFound(f"task {task_id!r} not found", param="id")
    return row


@router.get("/tasks/{task_id}", operation_id="get_task")
def get_task(task_id: str, request: Request, who: str = Depends(owner)) -> dict[str, Any]:
    svc = services(request)
    return task_json(_task(svc, task_id, who), svc.files_base(request))


@router.get("/tasks", operation_id="list_tasks")
def list_tasks(
    request: Request,
    who: str = Depends(owner),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, pattern=r"^[0-9]+$", description="next_cursor of a page"),
) -> dict[str, Any]:
    svc = services(request)
    before = None
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidInput(f"cursor must come from next_cursor, got {cursor!r}", param="cursor")
        before = min(int(cursor), 2**62)  # past every task; SQLite integers are 64-bit
    rows = svc.store.list_tasks(who, limit=limit + 1, before=before)
    page, more = rows[:limit], len(rows) > limit
    base = svc.files_base(request)
    return {
        "data": [task_json(r, base) for r in page],
        "has_more": more,
        "next_cursor": str(page[-1]["seq"]) if more else None,
    }


@router.post("/tasks/{task_id}/cancel", operation_id="cancel_task")
def cancel_task(task_id: str, request: Request, who: str = Depends(owner)) -> dict[str, Any]:
    svc = services(request)
    _task(svc, task_id, who)
    svc.store.update(task_id, status=TaskStatus.CANCELLED, log="cancelled by request\n")
    svc.events.notify(task_id)
    return task_json(_task(svc, task_id, who), svc.files_base(request))


@router.post(
    "/tasks/{task_id}/webhook/redeliver", operation_id="redeliver_webhook", status_code=202
)
def redeliver_webhook(task_id: str, request: Request, who: str = Depends(owner)) -> dict[str, Any]:
    svc = services(request)
    _task(svc, task_id, who)
    if not svc.store.redeliver_webhook(task_id):
        raise Conflict("only a finished task that has a webhook can be delivered again", param="id")
    return task_json(_task(svc, task_id, who), svc.files_base(request))


@router.get("/tasks/{task_id}/stream", operation_id="stream_task")
async def stream_task(
    task_id: str,
    request: Request,
    who: str = Depends(owner),
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    svc = services(request)
    await run_in_threadpool(_task, svc, task_id, who)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    base = svc.files_base(request)
    return StreamingResponse(
        _events(svc, request, task_id, who, after, base),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(
    svc: Services, request: Request, task_id: str, who: str, after: int, base: str
) -> AsyncIterator[str]:
    started = last_beat = time.monotonic()
    yield "retry: 1000\n\n"
    with svc.events.watch(task_id) as changed:  # woken by change notices, else it polls
        while True:
            events = await run_in_threadpool(svc.store.events_after, task_id, after)
            for seq, payload in events:
                after = seq
                data = {"id": task_id, **payload}
                if "output" in data:
                    data["output"] = absolute_output(data["output"], base)
                yield sse("update", data, seq)
            status = await run_in_threadpool(svc.store.status_of, task_id)
            if status is not None and status.is_terminal():
                if not await run_in_threadpool(svc.store.events_after, task_id, after):
                    row = await run_in_threadpool(_task, svc, task_id, who)
                    yield sse("done", task_json(row, base))
                    return
                continue
            if await request.is_disconnected():
                return
            now = time.monotonic()
            if now - last_beat > HEARTBEAT_SECONDS:
                last_beat = now
                yield ": keep-alive\n\n"
            await woken(changed, poll_interval(now - started))
