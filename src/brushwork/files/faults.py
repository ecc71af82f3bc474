"""What counts as "storage is full", wherever it is raised: the disk (ENOSPC, EDQUOT),
SQLite ("database or disk is full"), or an S3-compatible bucket's quota answers.

The server maps these to 507 ``storage_full``, the worker fails the task with that code
and keeps serving; both ask :func:`is_storage_full`. No dependency is imported here: the
SQLAlchemy and botocore errors are recognised by what they carry.
"""

from __future__ import annotations

import errno
import sqlite3

from brushwork.errors import StorageFull

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# what S3-compatible services answer when a bucket or account is out of room
S3_FULL_CODES = frozenset(
    {"QuotaExceeded", "InsufficientStorage", "XMinioStorageFull", "StorageFull", "507"}
)


def is_storage_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what it wraps) says there is no room left to write."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, StorageFull):
            return True
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "disk is full" in str(exc)
        ):
            return True
        if "No space left on device" in str(exc):  # psycopg, SQLAlchemy wrapping it as text
            return True
        if _s3_full(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def _s3_full(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in S3_FULL_CODES or status == 507


def storage_full(what: str) -> StorageFull:
    return StorageFull(
        f"storage is full: {what} could not be written; free space (delete tasks or files) "
        "and retry",
    )
