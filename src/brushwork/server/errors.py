"""Render every refusal in the SPEC §4 envelope; never a stack trace, never a 500 for bad input."""

from __future__ import annotations

import logging
import math
import sqlite3
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


def error_response(exc: BrushworkError) -> JSONResponse:
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


def install(app: FastAPI) -> None:
    async def on_brushwork(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BrushworkError)
        return error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error_response(NotFound("no such route"))
        err = BrushworkError(str(exc.detail), code="http_error", http_status=exc.status_code)
        body = err.envelope()
        body["error"]["type"] = "invalid_request_error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only its first route's
            headers["Allow"] = ", ".join(_methods_of(request))
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    async def on_store_down(request: Request, exc: Exception) -> JSONResponse:
        if is_storage_full(exc):
            return on_full(request, exc)
        log.warning(
            "store or queue unreachable on %s %s: %s", request.method, request.url.path, exc
        )
        return error_response(
            ServiceUnavailable("the task store or queue is unreachable; retry shortly")
        )

    def on_full(request: Request, exc: Exception) -> JSONResponse:
        log.warning("storage full on %s %s: %s", request.method, request.url.path, exc)
        return error_response(storage_full("the request's data"))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_storage_full(exc):  # ENOSPC from anywhere (a spooled upload, a log, a file)
            return on_full(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(BrushworkError("internal server error"))

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

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) > self.max_bytes:
                await error_response(self._too_large())(scope, receive, send)
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
                await error_response(self._too_large())(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is over {self.max_bytes:,} bytes")
