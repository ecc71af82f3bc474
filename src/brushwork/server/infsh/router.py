"""``/infsh``: the hosted platform's API over the same services as the native root (SPEC §9).

One store, one set of keys: a task made here is the native root's task too, shown in this
root's numbers and envelope. Submitting, following, cancelling, deleting and sessions are
the native operations; only the shapes differ (``protocol``).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from brushwork.contract import TaskStatus, iso
from brushwork.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge
from brushwork.files.store import safe_filename
from brushwork.imaging.limits import MAX_IMAGE_BYTES
from brushwork.server import sessions
from brushwork.server.infsh import protocol
from brushwork.server.routes import files as native_files
from brushwork.server.routes import tasks as native_tasks
from brushwork.server.routes.apps import describe
from brushwork.server.runs import Ended, Quiet, as_answered, follow_task, start
from brushwork.server.services import Services, owner, services
from brushwork.signing import seal, unseal
from brushwork.tasks.store import Store, new_id

router = APIRouter(prefix=protocol.ROOT, tags=["inference.sh"])

LINK_SECONDS = 7 * 24 * 3600  # output links, like the hosted CDN's: fetchable for a week
UPLOAD_SECONDS = 3600  # an upload URL takes its bytes within the hour
UPLOAD_SECRET = "upload-urls"  # noqa: S105 - the name of a stored secret
NDJSON = "application/x-ndjson"


def linker(store: Store, base: str) -> protocol.Link:
    return lambda file_id: native_files.signed_url(store, base, file_id, LINK_SECONDS)[0]


def task_body(svc: Services, row: dict[str, Any], base: str) -> dict[str, Any]:
    return protocol.task(row, base, linker(svc.store, base))


def webhook_payload(store: Store, row: dict[str, Any], base: str) -> bytes | None:
    """The webhook body of a task made on this root, in its numbers (None: the native
    root's task)."""
    if (row.get("options") or {}).get("root") != "infsh":
        return None
    body = protocol.task(row, base, linker(store, base))
    return json.dumps(body, separators=(",", ":")).encode()


# ---------------------------------------------------------------- apps


@router.get("/apps", operation_id="infsh_list_apps", response_model=protocol.InfshEnvelope)
def list_apps(request: Request, _: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    apps = [describe(s, svc, schemas=False) for s in svc.registry.apps.values()]
    return protocol.envelope([a.model_dump(mode="json", exclude_unset=True) for a in apps])


@router.get(
    "/apps/{namespace}/{name}", operation_id="infsh_get_app", response_model=protocol.InfshEnvelope
)
def get_app(namespace: str, name: str, request: Request, _: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    ref = protocol.parse_ref(f"{namespace}/{name}", None, svc.settings.app_aliases)
    info = describe(svc.registry.spec(ref.app), svc, schemas=True)
    return protocol.envelope(info.model_dump(mode="json", exclude_unset=True))


@router.post("/apps/run", operation_id="infsh_run_app", response_model=protocol.InfshEnvelope)
async def run_app(
    body: protocol.InfshRunRequest, request: Request, who: str = Depends(owner)
) -> JSONResponse:
    """Run an app: the task at once, or finished with ``wait``. A session call with an empty
    input (how ``client.session(app)`` opens one) completes at once without drawing."""
    svc = services(request)
    base = svc.files_base(request)
    if body.stream:
        raise InvalidInput(
            "live (socket) functions are not offered: brushwork apps answer with files; "
            "follow GET /tasks/{id}/stream instead",
            param="stream",
        )
    ref = protocol.parse_ref(body.app, body.function, svc.settings.app_aliases)
    options: dict[str, Any] = {"previews": 0, "root": "infsh", "function": ref.function}
    extra = {"version": ref.version, "setup": body.setup, "metadata": body.metadata}
    options |= {k: v for k, v in extra.items() if v is not None}
    task = await start(
        svc,
        who,
        base,
        app=ref.app,
        raw_input=body.input,
        webhook=body.webhook,
        session=body.session,
        session_timeout=body.session_timeout,
        options=options,
    )
    row = await as_answered(svc, request, task["id"], body.wait)
    return protocol.envelope(task_body(svc, row, base))


# ---------------------------------------------------------------- tasks


@router.get(
    "/tasks/{task_id}", operation_id="infsh_get_task", response_model=protocol.InfshEnvelope
)
def get_task(task_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    row = native_tasks.find(svc, task_id, who)
    return protocol.envelope(task_body(svc, row, svc.files_base(request)))


@router.get(
    "/tasks/{task_id}/status",
    operation_id="infsh_task_status",
    response_model=protocol.InfshEnvelope,
)
def task_status(task_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    """What a polling client reads between full fetches."""
    row = native_tasks.find(services(request), task_id, who)
    number = protocol.STATUS[TaskStatus(row["status"])]
    return protocol.envelope(
        {
            "id": task_id,
            "status": number,
            "status_name": protocol.NAMES[number],
            "progress": row["progress"],
        }
    )


@router.post(
    "/tasks/{task_id}/cancel",
    operation_id="infsh_cancel_task",
    response_model=protocol.InfshEnvelope,
)
def cancel_task(task_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    row = native_tasks.cancel(svc, task_id, who)
    return protocol.envelope(task_body(svc, row, svc.files_base(request)))


@router.delete(
    "/tasks/{task_id}", operation_id="infsh_delete_task", status_code=204, response_class=Response
)
def delete_task(
    task_id: str,
    request: Request,
    who: str = Depends(owner),
    files: bool = Query(True, description="its output files go with it (always, in brushwork)"),
) -> Response:
    return native_tasks.delete(services(request), task_id, who)


@router.get("/tasks", operation_id="infsh_list_tasks", response_model=protocol.InfshEnvelope)
def list_tasks_get(
    request: Request,
    who: str = Depends(owner),
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, pattern=r"^[0-9]*$"),
) -> JSONResponse:
    return _task_page(request, who, protocol.InfshListRequest(limit=limit, cursor=cursor))


@router.post(
    "/tasks/list", operation_id="infsh_list_tasks_post", response_model=protocol.InfshEnvelope
)
def list_tasks(
    request: Request,
    who: str = Depends(owner),
    body: Annotated[protocol.InfshListRequest | None, Body()] = None,
) -> JSONResponse:
    """The platform's cursor list: newest first, ``next_cursor`` for the next page."""
    return _task_page(request, who, body or protocol.InfshListRequest())


MAX_SCAN = 2000  # rows a filtered page reads at most before it answers with what it found


def _task_page(request: Request, who: str, body: protocol.InfshListRequest) -> JSONResponse:
    svc = services(request)
    keep = protocol.row_filter(body.filters)
    before = min(int(body.cursor), 2**62) if body.cursor else None
    found: list[dict[str, Any]] = []
    scanned, more = 0, True
    while more and len(found) <= body.limit and scanned < MAX_SCAN:
        rows = svc.store.list_tasks(who, limit=100, before=before)
        more = len(rows) == 100
        scanned += len(rows)
        for row in rows:
            before = row["seq"]
            if keep(row):
                found.append(row)
                if len(found) > body.limit:
                    break
    page = found[: body.limit]
    has_next = len(found) > body.limit or (more and scanned >= MAX_SCAN)
    cursor = str(page[-1]["seq"] if len(found) > body.limit else before) if has_next else ""
    base = svc.files_base(request)
    return protocol.envelope(
        {
            "items": [task_body(svc, r, base) for r in page],
            "next_cursor": cursor,
            "prev_cursor": body.cursor or "",
            "has_next": has_next,
            "has_previous": bool(body.cursor),
            "items_per_page": body.limit,
        }
    )


@router.get(
    "/tasks/{task_id}/stream",
    operation_id="infsh_stream_task",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}, "text/event-stream": {}}}},
)
async def stream_task(
    task_id: str,
    request: Request,
    who: str = Depends(owner),
    accept: str | None = Header(None),
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    """NDJSON when asked for (``Accept: application/x-ndjson``: partial task lines, heartbeat
    lines, then the final task), else server-sent events of the same task bodies."""
    svc = services(request)
    await run_in_threadpool(native_tasks.find, svc, task_id, who)
    base = svc.files_base(request)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if NDJSON in (accept or ""):
        return StreamingResponse(
            _ndjson(svc, request, task_id, base), media_type=NDJSON, headers=headers
        )
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return StreamingResponse(
        _sse(svc, request, task_id, base, after), media_type="text/event-stream", headers=headers
    )


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"


async def _ndjson(svc: Services, request: Request, task_id: str, base: str) -> AsyncIterator[str]:
    link = linker(svc.store, base)
    async for item in follow_task(svc, request, task_id):
        if isinstance(item, Ended):
            yield _line(protocol.task(item.row, base, link))
        elif isinstance(item, Quiet):
            yield _line({"type": "heartbeat"})
        elif not protocol.is_terminal_event(item.payload):  # the end comes as the whole task
            yield _line(protocol.update(task_id, item.payload, link))


async def _sse(
    svc: Services, request: Request, task_id: str, base: str, after: int
) -> AsyncIterator[str]:
    link = linker(svc.store, base)
    yield "retry: 1000\n\n"
    async for item in follow_task(svc, request, task_id, after):
        if isinstance(item, Ended):
            yield f"data: {_line(protocol.task(item.row, base, link))}\n"
        elif isinstance(item, Quiet):
            yield ": heartbeat\n\n"
        elif not protocol.is_terminal_event(item.payload):
            yield f"id: {item.seq}\ndata: {_line(protocol.update(task_id, item.payload, link))}\n"


# ---------------------------------------------------------------- files


@router.post(
    "/files",
    operation_id="infsh_create_files",
    status_code=201,
    response_model=protocol.InfshEnvelope,
)
def create_files(
    body: protocol.InfshFilesRequest, request: Request, who: str = Depends(owner)
) -> JSONResponse:
    """Name each file and hand back where to PUT its bytes: a signed, expiring URL that takes
    at most the declared size (and never more than an upload may be)."""
    svc = services(request)
    base = svc.files_base(request).rstrip("/")
    secret = svc.store.server_secret(UPLOAD_SECRET)
    link = linker(svc.store, base)
    expires = int(time.time()) + UPLOAD_SECONDS
    answers = []
    for i, f in enumerate(body.files):
        if f.uri:
            raise InvalidInput(
                "uri must be empty: the server names the file", param=f"files[{i}].uri"
            )
        if f.size is not None and f.size > MAX_IMAGE_BYTES:
            raise PayloadTooLarge(
                f"files are limited to {MAX_IMAGE_BYTES:,} bytes, got size {f.size:,}",
                param=f"files[{i}].size",
            )
        if f.size == 0:
            raise InvalidInput("a file of 0 bytes cannot be uploaded", param=f"files[{i}].size")
    svc.require_room("new uploads")
    for f in body.files:
        file_id = new_id()
        filename = safe_filename(f.filename, "upload")
        claims = {"id": file_id, "owner": who, "filename": filename, "type": f.content_type}
        token = seal(secret, claims | {"size": f.size, "exp": expires})
        answers.append(
            {
                "id": file_id,
                "uri": link(file_id),
                "upload_url": f"{base}{protocol.ROOT}/files/{file_id}/upload?token={token}",
                "upload_expires_at": iso(expires),
                "filename": filename,
                "content_type": f.content_type,
                "size": f.size,
                "path": f.path,
                "created_at": iso(time.time()),
            }
        )
    return protocol.envelope(answers, 201)


@router.put(
    "/files/{file_id}/upload",
    operation_id="infsh_upload_bytes",
    response_model=protocol.InfshEnvelope,
)
async def upload_bytes(
    file_id: str, request: Request, token: str = Query(description="from POST /files")
) -> JSONResponse:
    """The bytes of a file named by ``POST /files``; the signed URL is the credential."""
    svc = services(request)
    claims = unseal(svc.store.server_secret(UPLOAD_SECRET), token)
    if claims.get("id") != file_id:
        raise Forbidden("this upload URL is for another file", param="token")
    if svc.store.get_file(file_id) is not None:
        raise Conflict(f"file {file_id} has its bytes already", param="id")
    declared = claims.get("size")
    limit = declared if isinstance(declared, int) else MAX_IMAGE_BYTES
    data = await _body(request, limit)
    if data and declared is not None and len(data) != declared:
        raise InvalidInput(f"sent {len(data):,} bytes, declared {declared:,}", param="size")
    record = await native_files.store_upload(
        svc,
        data,
        owner=claims["owner"],
        filename=claims["filename"],
        content_type=claims.get("type"),
        file_id=file_id,
    )
    base = svc.files_base(request)
    native = native_files.uploaded(record, base)
    return protocol.envelope(protocol.file(native, linker(svc.store, base)(file_id)))


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"this upload takes at most {limit:,} bytes", param="file")
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"this upload takes at most {limit:,} bytes", param="file")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get(
    "/files/{file_id}", operation_id="infsh_get_file", response_model=protocol.InfshEnvelope
)
def get_file(file_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    """The file's record (its ``uri`` a signed link); bytes come from that link."""
    svc = services(request)
    record = native_files.owned(svc, file_id, who)
    base = svc.files_base(request)
    native = native_files.uploaded(record, base)
    return protocol.envelope(
        protocol.file(native, linker(svc.store, base)(file_id), created_at=iso(record.created_at))
    )


@router.delete(
    "/files/{file_id}", operation_id="infsh_delete_file", status_code=204, response_class=Response
)
def delete_file(file_id: str, request: Request, who: str = Depends(owner)) -> Response:
    return native_files.delete(services(request), file_id, who)


# ---------------------------------------------------------------- sessions


def _session(svc: Services, row: dict[str, Any], base: str) -> dict[str, Any]:
    native = sessions.render(svc, row, base)
    last = native.tasks[-1] if native.tasks else None
    return protocol.session(native, linker(svc.store, base), last)


def _one_session(svc: Services, request: Request, row: dict[str, Any]) -> JSONResponse:
    return protocol.envelope(_session(svc, row, svc.files_base(request)))


@router.get("/sessions", operation_id="infsh_list_sessions", response_model=protocol.InfshEnvelope)
def list_sessions(
    request: Request, who: str = Depends(owner), limit: int = Query(100, ge=1, le=100)
) -> JSONResponse:
    """Your sessions, newest first."""
    svc = services(request)
    base = svc.files_base(request)
    rows = svc.store.list_sessions(who, limit=limit, before=None)
    return protocol.envelope([_session(svc, r, base) for r in rows])


@router.get(
    "/sessions/{session_id}",
    operation_id="infsh_get_session",
    response_model=protocol.InfshEnvelope,
)
def get_session(session_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    return _one_session(svc, request, sessions.find(svc, who, session_id))


@router.post(
    "/sessions/{session_id}/keepalive",
    operation_id="infsh_keepalive_session",
    response_model=protocol.InfshEnvelope,
)
def keepalive(session_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    return _one_session(svc, request, sessions.keepalive(svc, who, session_id))


@router.delete("/sessions/{session_id}", operation_id="infsh_end_session")
def end_session(session_id: str, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    return _one_session(svc, request, sessions.end(svc, who, session_id))
