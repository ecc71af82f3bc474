"""The hosted platform's shapes (SPEC §9), rendered from the same typed models as the native
root: status numbers, the ``{"data": ...}`` envelope, RFC 9457 problems, app refs, and the
task, file and session bodies its SDKs read.

Nothing here touches the store on its own: the router hands in rows and signed-link makers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from brushwork.contract import Session, Task, TaskStatus, UploadedFile, map_files
from brushwork.errors import BrushworkError, InvalidInput, RateLimited

ROOT = "/infsh"
PROBLEM_REF = "#/components/schemas/Problem"
FUNCTIONS = ("run",)  # what every brushwork app exposes

# SPEC §5's numbers → the platform's today (it has DISPATCHED at 3 and CANCELLING at 8)
STATUS = {
    TaskStatus.RECEIVED: 1,
    TaskStatus.QUEUED: 2,
    TaskStatus.SCHEDULED: 3,
    TaskStatus.PREPARING: 4,
    TaskStatus.SERVING: 5,
    TaskStatus.SETTING_UP: 6,
    TaskStatus.RUNNING: 7,
    TaskStatus.UPLOADING: 9,
    TaskStatus.COMPLETED: 10,
    TaskStatus.FAILED: 11,
    TaskStatus.CANCELLED: 12,
}
NAMES = {
    1: "received",
    2: "queued",
    3: "dispatched",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "cancelling",
    9: "uploading",
    10: "completed",
    11: "failed",
    12: "cancelled",
}
NATIVE = {number: status for status, number in STATUS.items()}

# the platform's own codes where its SDKs match them (upper case, as its API sends them)
CODES = {
    "session_not_found": "SESSION_NOT_FOUND",
    "session_ended": "SESSION_ENDED",
    "session_expired": "SESSION_EXPIRED",
    "session_app_mismatch": "APP_MISMATCH",
}


class InfshEnvelope(BaseModel):
    """Every answer of this root: ``{"data": <the platform's DTO>}``."""

    data: Any


class Problem(BaseModel):
    """RFC 9457 problem details, with the SPEC §4 fields as extension members."""

    type: str = Field(description="ends in /errors/<code>")
    title: str
    status: int
    detail: str
    code: str
    param: str | None
    error_type: str


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": HTTPStatus(status).phrase,
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
    }
    for status in (400, 401, 403, 404, 405, 409, 410, 413, 422, 429, 503, 507)
}


def envelope(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"data": data}, status_code=status_code)


def problem(exc: BrushworkError) -> JSONResponse:
    """RFC 9457 problem details; the SPEC §4 fields ride along as extension members. The
    ``type`` ends in ``/errors/<code>``, where the platform's SDKs read the code from."""
    code = CODES.get(exc.code, exc.code)
    body = {
        "type": f"{ROOT}/errors/{code}",
        "title": HTTPStatus(exc.http_status).phrase if exc.http_status in _STATUSES else "Error",
        "status": exc.http_status,
        "detail": exc.message,
        "code": code,
        "param": exc.param,
        "error_type": exc.type,
    }
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse(
        body, status_code=exc.http_status, headers=headers, media_type="application/problem+json"
    )


_STATUSES = {s.value for s in HTTPStatus}


# ---------------------------------------------------------------- requests


class InfshRunRequest(BaseModel):
    """``POST /infsh/apps/run``, as the platform's SDKs send it."""

    model_config = ConfigDict(extra="forbid")

    app: str = Field(description="namespace/name[@version][:function]")
    input: dict[str, Any] = Field(default_factory=dict, description="the app input (SPEC §1)")
    function: str | None = Field(None, description='the entry point; brushwork apps have "run"')
    setup: dict[str, Any] | None = Field(None, description="kept on the task; apps need none")
    metadata: dict[str, Any] | None = Field(None, description="kept on the task and shown back")
    session: Any = Field(None, description='"new" or a session id (SPEC §8)')
    session_timeout: Any = Field(None, description="idle seconds, 1..3600, default 60")
    webhook: str | None = Field(None, description="called when the task ends (10, 11, 12)")
    wait: StrictBool = Field(False, description="answer with the finished task")
    stream: StrictBool = Field(False, description="live socket functions: not offered")


class InfshFileRequest(BaseModel):
    """One file of ``POST /infsh/files``: what the bytes PUT to its ``upload_url`` will be."""

    model_config = ConfigDict(extra="forbid")

    uri: str | None = Field(None, description="empty: the server names the file")
    filename: str | None = None
    content_type: str | None = None
    path: str | None = None
    size: StrictInt | None = Field(None, ge=0, description="the byte count the PUT must send")
    public: bool | None = None


MAX_FILES_PER_REQUEST = 20


class InfshFilesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[InfshFileRequest] = Field(min_length=1, max_length=MAX_FILES_PER_REQUEST)
    category: str | None = None


class InfshFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    operator: str = "eq"
    value: Any = None


class InfshListRequest(BaseModel):
    """``POST /infsh/tasks/list``: the platform's cursor list request (what brushwork uses of
    it: cursor, limit, and eq/in filters on status, app and session_id)."""

    model_config = ConfigDict(extra="ignore")  # search, sort, preloads…: the order is fixed

    cursor: str | None = Field(None, pattern=r"^[0-9]*$")
    limit: StrictInt = Field(20, ge=1, le=100)
    filters: list[InfshFilter] = Field(default_factory=list)


FILTER_FIELDS = ("status", "app", "app_id", "session_id")


def row_filter(filters: list[InfshFilter]) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over store rows for the list request's filters; 400 for what it cannot do."""
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for i, f in enumerate(filters):
        if f.field not in FILTER_FIELDS:
            raise InvalidInput(
                f"filters[{i}].field must be one of {', '.join(FILTER_FIELDS)}, got {f.field!r}",
                param=f"filters[{i}].field",
            )
        if f.operator not in ("eq", "in"):
            raise InvalidInput(
                f"filters[{i}].operator must be eq or in, got {f.operator!r}",
                param=f"filters[{i}].operator",
            )
        values = f.value if f.operator == "in" else [f.value]
        if not isinstance(values, list):
            raise InvalidInput(f"filters[{i}].value must be a list for in", param="filters")
        if f.field == "status":
            wanted = {_native_status(v, i) for v in values}
            tests.append(lambda row, w=wanted: TaskStatus(row["status"]) in w)  # type: ignore[misc]
        else:
            column = "app" if f.field in ("app", "app_id") else f.field
            wanted_values = {str(v) for v in values}
            tests.append(lambda row, c=column, w=wanted_values: str(row[c]) in w)  # type: ignore[misc]
    return lambda row: all(test(row) for test in tests)


def _native_status(value: Any, i: int) -> TaskStatus:
    if isinstance(value, str) and not value.isdigit():
        number = {name: n for n, name in NAMES.items()}.get(value.lower())
    else:
        number = int(value) if str(value).isdigit() else None
    if number not in NATIVE:
        raise InvalidInput(f"filters[{i}].value: unknown status {value!r}", param="filters")
    return NATIVE[number]


@dataclass(frozen=True)
class AppRef:
    app: str  # namespace/name, after aliases
    version: str | None
    function: str


_REF = re.compile(
    r"(?P<app>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<version>[\w.-]+))?(?::(?P<function>[\w.-]+))?"
)


def parse_ref(ref: str, function: str | None, aliases: Mapping[str, str]) -> AppRef:
    """``namespace/name[@version][:function]``; ``function`` in the body must agree."""
    match = _REF.fullmatch(ref.strip())
    if match is None:
        raise InvalidInput(
            f"app must be 'namespace/name[@version][:function]', got {ref[:80]!r}", param="app"
        )
    named = match["function"]
    if named and function and named != function:
        raise InvalidInput(
            f"the app ref names function {named!r} but function is {function!r}",
            param="function",
        )
    chosen = named or function or "run"
    if chosen not in FUNCTIONS:
        raise InvalidInput(
            f"app {match['app']!r} has no function {chosen!r} (it has: {', '.join(FUNCTIONS)})",
            param="function",
            code="unknown_function",
        )
    return AppRef(aliases.get(match["app"], match["app"]), match["version"], chosen)


# ---------------------------------------------------------------- answers

Link = Callable[[str], str]  # file id → a URL a plain GET fetches


def signed_output(output: Mapping[str, Any] | None, link: Link) -> dict[str, Any] | None:
    """The task output with every file URI a signed link (the hosted CDN's are fetchable)."""
    return map_files(output, lambda uri: link(uri.rsplit("/", 1)[-1]))


def signed(ref: Mapping[str, Any], link: Link) -> dict[str, Any]:
    """A file reference (stored as ``/files/{id}``) with its URI a signed link."""
    return {**ref, "uri": link(str(ref["uri"]).rsplit("/", 1)[-1])}


def task(row: Mapping[str, Any], files_base: str, link: Link) -> dict[str, Any]:
    """A task as the platform shows it (its TaskDTO fields that brushwork has)."""
    native = Task.from_record(row, files_base)
    options = row.get("options") or {}
    in_session = bool(options.get("session"))
    number = STATUS[native.status]
    return {
        "id": native.id,
        "created_at": native.created_at,
        "updated_at": native.updated_at,
        "status": number,
        "status_name": NAMES[number],
        "app_id": native.app,
        "app_version_id": options.get("version"),
        "function": options.get("function", "run"),
        "input": native.input,
        "output": signed_output(row["output"], link),
        "error": native.error.message if native.error else None,
        "error_details": native.error.model_dump() if native.error else None,
        "logs": _logs(native),
        "progress": native.progress,
        "session_id": native.session_id if in_session else None,
        "parent_id": native.parent_id,
        "webhook": native.webhook,
        "setup": options.get("setup"),
        "metadata": options.get("metadata"),
        "started_at": native.started_at,
        "completed_at": native.completed_at,
    }


def _logs(native: Task) -> list[dict[str, Any]]:
    """The platform's log entries; brushwork keeps one run log per task."""
    if not native.logs:
        return []
    entry = {"id": f"{native.id}-run", "task_id": native.id, "log_type": 1}
    return [entry | {"created_at": native.created_at, "content": native.logs}]


def update(task_id: str, payload: Mapping[str, Any], link: Link) -> dict[str, Any]:
    """One stream event as a partial task (the platform's ``{"data", "fields"}`` line)."""
    data: dict[str, Any] = {"id": task_id}
    status = payload.get("status")
    if status is not None:
        data["status"] = STATUS[TaskStatus(status)]
        data["status_name"] = NAMES[data["status"]]
    if "progress" in payload:
        data["progress"] = payload["progress"]
    if payload.get("logs"):
        data["log"] = payload["logs"]
    if payload.get("output"):
        data["output"] = signed_output(payload["output"], link)
    if payload.get("preview"):
        data["preview"] = signed(payload["preview"], link)
    return {"data": data, "fields": sorted(k for k in data if k != "id")}


def is_terminal_event(payload: Mapping[str, Any]) -> bool:
    status = payload.get("status")
    return status is not None and TaskStatus(status).is_terminal()


def session(native: Session, link: Link, last_task: str | None) -> dict[str, Any]:
    """A session as the platform shows it (AppSessionDTO), with brushwork's history beside."""
    body = native.model_dump(mode="json")
    latest = body.pop("latest")
    return body | {
        "app_id": native.app,
        "updated_at": native.last_call_at or native.created_at,
        "task_id": last_task,
        "latest": signed(latest, link) if latest is not None else None,
    }


def file(record: UploadedFile, uri: str, **extra: Any) -> dict[str, Any]:
    return {**record.model_dump(mode="json"), "uri": uri, **extra}
