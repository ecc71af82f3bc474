"""Signatures: Standard Webhooks deliveries, and signed file links.

``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``
keyed by the base64 part of a ``whsec_`` secret. A file link carries ``expires``
and ``signature`` (hex HMAC-SHA256 of ``"{file_id}.{expires}"`` under a server
secret) so that a plain GET fetches the file until it expires. Standard library
only, so the SDK can ship :func:`verify_webhook` without new dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from brushwork.errors import BrushworkError, Forbidden

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(BrushworkError):
    status = 400
    type = "webhook_verification_error"
    default_code = "invalid_signature"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery's signature and age; return the parsed body, or raise."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (
        lower.get("webhook-id"),
        lower.get("webhook-timestamp"),
        lower.get("webhook-signature"),
    )
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old or too new")
    body = payload.encode() if isinstance(payload, str) else payload
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            parsed: dict[str, Any] = json.loads(body)
            return parsed
    raise WebhookVerificationError("no signature matches")


def link_signature(secret: bytes, file_id: str, expires: int) -> str:
    """The ``signature`` query value of a link to ``file_id`` that expires at ``expires``."""
    return hmac.new(secret, f"{file_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def link_query(secret: bytes, file_id: str, expires: int) -> dict[str, str]:
    return {"expires": str(expires), "signature": link_signature(secret, file_id, expires)}


def check_link(
    secret: bytes, file_id: str, expires: str, signature: str, now: float | None = None
) -> None:
    """Raise :class:`Forbidden` (403) unless the link is well formed, fresh and signed."""
    if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
        raise Forbidden("this file link has expired or is malformed", param="expires")
    if not hmac.compare_digest(signature, link_signature(secret, file_id, int(expires))):
        raise Forbidden("this file link's signature is not valid", param="signature")


def seal(secret: bytes, claims: Mapping[str, Any]) -> str:
    """A token carrying ``claims`` (JSON, with an ``exp`` epoch second) under a signature: an
    upload URL says in it whose file it makes, how big it may be and until when."""
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    text = body.decode().rstrip("=")
    return f"{text}.{hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()}"


def unseal(secret: bytes, token: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a :func:`seal` token; :class:`Forbidden` (403) when it is forged,
    malformed or past its ``exp``."""
    body, _, mac = token.partition(".")
    expected = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    if not mac or not hmac.compare_digest(mac, expected):
        raise Forbidden("this upload URL's signature is not valid", param="token")
    try:
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise Forbidden("this upload URL is malformed", param="token") from None
    if not isinstance(claims.get("exp"), int) or claims["exp"] < (now or time.time()):
        raise Forbidden("this upload URL has expired; ask POST /files for a new one", param="token")
    return claims
