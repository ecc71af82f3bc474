"""The one exception tree of brushwork, shared by the server and the SDK.

Every refusal the contract knows is one class here, and each class maps to one
HTTP status and one error ``type``/``code`` of the SPEC §4 envelope
``{"error": {"message", "type", "param", "code"}}``. The server raises these and
renders them; the SDK rebuilds them from a response with :func:`from_envelope`.
This module imports nothing but the standard library.

    BrushworkError
    ├── InvalidInput (400)
    │   └── ModerationBlocked (400, code moderation_blocked)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── Gone (410, code expired: past its retention)
    ├── PayloadTooLarge (413)
    ├── UnprocessableImage (422)
    ├── RateLimited (429)
    ├── EngineFailed (500: the engine broke on valid input)
    ├── ServiceUnavailable (503)
    ├── StorageFull (507, code storage_full: the disk, the bucket or a key's quota)
    ├── APIConnectionError (SDK: no response)
    └── TaskError (SDK: a waited-for task ended FAILED or CANCELLED)
"""

from __future__ import annotations

from typing import Any, ClassVar


class BrushworkError(Exception):
    """Base of every brushwork error; carries the envelope fields."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code
        self.http_status = http_status or self.status

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, param={self.param!r}, code={self.code!r})"


class InvalidInput(BrushworkError):
    status = 400
    type = "invalid_request_error"
    default_code = "invalid_value"


class ModerationBlocked(InvalidInput):
    default_code = "moderation_blocked"


class Unauthorized(BrushworkError):
    status = 401
    type = "authentication_error"
    default_code = "invalid_api_key"


class Forbidden(BrushworkError):
    status = 403
    type = "permission_error"
    default_code = "forbidden"


class NotFound(BrushworkError):
    status = 404
    type = "not_found_error"
    default_code = "not_found"


class Conflict(BrushworkError):
    status = 409
    type = "invalid_request_error"
    default_code = "conflict"


class Gone(BrushworkError):
    status = 410
    type = "invalid_request_error"
    default_code = "expired"


class PayloadTooLarge(BrushworkError):
    status = 413
    type = "invalid_request_error"
    default_code = "payload_too_large"


class UnprocessableImage(BrushworkError):
    status = 422
    type = "invalid_request_error"
    default_code = "invalid_image"


class RateLimited(BrushworkError):
    status = 429
    type = "rate_limit_error"
    default_code = "rate_limit_exceeded"  # compat: OpenAI's code for the same refusal

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class EngineFailed(BrushworkError):
    status = 500
    type = "server_error"
    default_code = "engine_error"


class ServiceUnavailable(BrushworkError):
    status = 503
    type = "server_error"
    default_code = "unavailable"


class StorageFull(BrushworkError):
    status = 507
    type = "server_error"
    default_code = "storage_full"


class APIConnectionError(BrushworkError):
    """The SDK got no response (refused, reset, timed out)."""

    status = 0
    type = "connection_error"
    default_code = "connection_error"


class TaskError(BrushworkError):
    """A task the SDK waited for ended FAILED or CANCELLED; ``task`` holds it."""

    type = "task_error"
    default_code = "task_failed"

    def __init__(self, message: str, *, task: dict[str, Any], code: str | None = None):
        super().__init__(message, code=code)
        self.task = task


_BY_STATUS: dict[int, type[BrushworkError]] = {
    cls.status: cls
    for cls in (
        InvalidInput,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        PayloadTooLarge,
        UnprocessableImage,
        RateLimited,
        EngineFailed,
        ServiceUnavailable,
        StorageFull,
    )
}


def from_envelope(status: int, body: Any) -> BrushworkError:
    """Rebuild the error a server sent (SDK side); tolerates a non-envelope body."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"message": f"HTTP {status}: {str(body)[:200]}"}
    cls = _BY_STATUS.get(status, BrushworkError)
    if status == 400 and error.get("code") == ModerationBlocked.default_code:
        cls = ModerationBlocked
    return cls(
        str(error.get("message", "")),
        param=error.get("param"),
        code=error.get("code"),
        http_status=status,
    )
