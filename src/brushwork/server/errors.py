"""Render every refusal in the SPEC §4 envelope; never a stack trace, never a 500 for bad input."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brushwork.contract import input_error
from brushwork.errors import (
    BrushworkError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
)
from brushwork.files.faults import is_storage_full, storage_full

log = logging.getLogger("brushwork.server")


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(BaseModel):
    """SPEC §4: every refusal has this body."""

    error: ErrorBody


_REFUSALS = {
    400: "invalid input",
    401: "no or bad API key",
    403: "forbidden",
    404: "not found or not yours",
    409: "conflict",
    410: "gone: past its retention",
    413: "too large",
    422: "unprocessable image",
    429: "rate limited",
    503: "the task store or queue is unreachable",
    507: "storage is full (the disk, the bucket or the key's quota)",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope, "description": text} for code, text in _REFUSALS.items()
}


Render = Callable[[BrushworkError], JSONResponse]
Roots = Mapping[str, Render]  # a path prefix → how that protocol root renders a refusal


def error_response(exc: BrushworkError, path: str = "", roots: Roots | None = None) -> JSONResponse:
    """The refusal as the root that ``path`` belongs to renders it (SPEC §4 by default)."""
    for prefix, render in (roots or {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            return render(exc)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse(exc.envelope(), status_code=exc.http_status, headers=headers)


def _validation_error(exc: RequestValidationError) -> InvalidInput:
    err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request", "type": ""}
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
    if loc[:1] == ["input"] and (loc[1:] or err.get("type") != "missing"):
        # the app input inside a run request: the contract's own messages (SPEC §1)
        return input_error({**err, "loc": tuple(loc[1:])})
    param = loc[0] if loc else None
    where = ".".join(loc) or "request body"
    if err.get("type") == "missing":
        return InvalidInput(f"{where} is required", param=param)
    if err.get("type") == "json_invalid":
        return InvalidInput("the request body is not valid JSON", param=None)
    return InvalidInput(f"{where}: {err.get('msg')}", param=param)


def _methods_of(request: Request) -> list[str]:
    path = request.url.path
    found: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            found |= route.methods or set()
    return sorted(found)


def _redis_errors() -> tuple[type[Exception], ...]:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # SQLite-only install
        return ()
    return (RedisConnectionError, RedisTimeoutError)


class HTTPRefusal(BrushworkError):
    """A refusal the HTTP layer made (405, a bad header…): a client error."""

    type = "invalid_request_error"
    default_code = "http_error"


def install(app: FastAPI, roots: Roots | None = None) -> None:
    def render(request: Request, exc: BrushworkError) -> JSONResponse:
        return error_response(exc, request.url.path, roots)

    async def on_brushwork(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BrushworkError)
        return render(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return render(request, _validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return render(request, NotFound("no such route"))
        answer = render(request, HTTPRefusal(str(exc.detail), http_status=exc.status_code))
        answer.headers.update(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only its first route's
            answer.headers["Allow"] = ", ".join(_methods_of(request))
        return answer

    async def on_store_down(request: Request, exc: Exception) -> JSONResponse:
        if is_storage_full(exc):
            return on_full(request, exc)
        log.warning(
            "store or queue unreachable on %s %s: %s", request.method, request.url.path, exc
        )
        return render(
            request, ServiceUnavailable("the task store or queue is unreachable; retry shortly")
        )

    def on_full(request: Request, exc: Exception) -> JSONResponse:
        log.warning("storage full on %s %s: %s", request.method, request.url.path, exc)
        return render(request, storage_full("the request's data"))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_storage_full(exc):  # ENOSPC from anywhere (a spooled upload, a log, a file)
            return on_full(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(request, BrushworkError("internal server error"))

    app.add_exception_handler(BrushworkError, on_brushwork)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(SQLAlchemyError, on_store_down)
    app.add_exception_handler(sqlite3.Error, on_store_down)  # Huey's SQLite queue
    for error in _redis_errors():
        app.add_exception_handler(error, on_store_down)
    app.add_exception_handler(Exception, on_unexpected)


class BodyLimit:
    """Refuse request bodies over the limit with 413, by Content-Length or by counting."""

    def __init__(self, app: ASGIApp, max_bytes: int, roots: Roots | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.roots = roots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) > self.max_bytes:
                await self._too_large(scope["path"])(scope, receive, send)
                return
            # the HTTP server enforces Content-Length, so the body cannot outgrow it
            await self.app(scope, receive, send)
            return
        # No length (chunked): read up to the limit here, so an oversize body gets 413
        # and never a parse error from deeper down.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._too_large(scope["path"])(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _too_large(self, path: str) -> JSONResponse:
        exc = PayloadTooLarge(f"the request body is over {self.max_bytes:,} bytes")
        return error_response(exc, path, self.roots)
