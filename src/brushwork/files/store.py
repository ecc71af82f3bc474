"""File bytes: inputs people upload and images engines make, on local disk or S3.

One ``put`` for both backends: the per-key quota is checked before anything is written,
a full disk or bucket becomes :class:`~brushwork.errors.StorageFull` (507), and a record
whose write failed leaves no bytes behind. ``delete`` removes bytes for real; ``check``
lists what the bytes and the records disagree on (``brushwork files check``).

``open_files(files_url, files_dir, store)`` picks the backend from ``files_url``
(``BRUSHWORK_FILES_URL``): the directory ``files_dir`` when it is unset, another
directory when it is a path, or ``s3://bucket?endpoint=…&region=…`` for an
S3-compatible store shared by every machine. Bytes are stored first (locally:
a temporary name renamed into place, so a crash never leaves a half-written
file under a real id; on S3 a single PUT is atomic) and the record (owner,
name, type, size) goes to the task store only after the bytes are safe.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.responses import FileResponse, Response

from brushwork.errors import Conflict, StorageFull
from brushwork.files.faults import is_storage_full, storage_full
from brushwork.tasks.store import FileRecord, Store, new_id

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str | None, default: str = "file") -> str:
    base = os.path.basename(name or "").strip()
    cleaned = _SAFE_NAME.sub("_", base).strip("._")[:120]
    return cleaned or default


@dataclass
class Check:
    """What ``files check`` finds: bytes nothing owns, half-written temporaries, and records
    whose bytes are gone."""

    orphans: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.orphans or self.partial or self.missing)


class Blobs:
    """What both backends share; each says how to write, read, remove and list bytes."""

    backend = "local"

    def __init__(self, store: Store, quota: int | None = None):
        self.store = store
        self.quota = quota
        self.full_since: float | None = None  # the last write found no room (S3 health)

    def put(
        self,
        data: bytes,
        *,
        owner: str,
        filename: str,
        content_type: str,
        file_id: str | None = None,
    ) -> FileRecord:
        """Store the bytes, then the record; ``file_id``: an id handed out before the bytes
        came (an upload URL), else a new one."""
        if self.quota is not None and self.store.bytes_of(owner) + len(data) > self.quota:
            raise StorageFull(
                f"this key's storage quota of {self.quota:,} bytes is used up "
                f"(BRUSHWORK_MAX_BYTES_PER_KEY); delete tasks or files to make room",
                param="file",
            )
        if file_id is not None and self.store.get_file(file_id) is not None:
            raise Conflict(f"file {file_id} has its bytes already", param="id")
        name = safe_filename(filename)
        record = FileRecord(file_id or new_id(), owner, name, content_type, len(data), time.time())
        try:
            self._write(record.id, data, content_type)
            self.store.add_file(record)
        except Exception as exc:
            with contextlib.suppress(Exception):  # nothing half-written stays behind
                self._remove(record.id)
            if is_storage_full(exc):
                self.full_since = time.time()
                raise storage_full(f"{record.filename} ({len(data):,} bytes)") from exc
            raise
        self.full_since = None
        return record

    def delete(self, file_ids: Iterable[str]) -> None:
        """Remove the bytes of these files (their records are dropped by the caller)."""
        for file_id in file_ids:
            self._remove(file_id)
        self.full_since = None

    def check(self, repair: bool = False) -> Check:
        found = Check()
        live = self.store.live_file_ids()
        stored = set()
        for name in self._names():
            if name.startswith(".tmp-") or "/.tmp-" in name:
                found.partial.append(name)
            elif name not in live:
                found.orphans.append(name)
            stored.add(name)
        found.missing = sorted(live - stored)
        if repair:
            for name in found.orphans + found.partial:
                self._remove(name)
            self.store.expire_files(found.missing, time.time())  # the bytes are gone: 410
        return found

    def _write(self, file_id: str, data: bytes, content_type: str) -> None:
        raise NotImplementedError

    def _remove(self, file_id: str) -> None:
        raise NotImplementedError

    def _names(self) -> Iterator[str]:
        raise NotImplementedError


class LocalFileStore(Blobs):
    def __init__(self, root: Path, store: Store, quota: int | None = None):
        super().__init__(store, quota)
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, file_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", file_id):
            raise ValueError("not a file id")
        return self.root / file_id[:2] / file_id

    def _write(self, file_id: str, data: bytes, content_type: str) -> None:
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # a crash never leaves a half-written file under a real id
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _remove(self, name: str) -> None:
        path = self.root / name if "/" in name else self._path(name)
        path.unlink(missing_ok=True)

    def _names(self) -> Iterator[str]:
        for path in self.root.glob("*/*"):
            yield f"{path.parent.name}/{path.name}" if path.name.startswith(".tmp-") else path.name

    def read(self, file_id: str) -> bytes:
        return self._path(file_id).read_bytes()

    def response(self, record: FileRecord) -> Response:
        return _WholeFileResponse(
            self._path(record.id),
            media_type=record.content_type,
            filename=record.filename,
            content_disposition_type="inline",
        )

    def free_bytes(self) -> int | None:
        import shutil

        return shutil.disk_usage(self.root).free


class _WholeFileResponse(FileResponse):
    """Starlette's file response reads 64 KiB per trip to a thread: a 1024² PNG took about 16
    of them, a fifth of the API's busy time per task. A picture is read in one or a few."""

    chunk_size = 1024 * 1024


class S3FileStore(Blobs):
    """Blobs in an S3-compatible bucket (AWS, MinIO, moto), keyed ``files/{id}``."""

    backend = "s3"

    def __init__(self, url: str, store: Store, quota: int | None = None):
        import boto3

        super().__init__(store, quota)
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.bucket = parts.netloc
        self.s3: Any = boto3.client(
            "s3", endpoint_url=query.get("endpoint"), region_name=query.get("region", "us-east-1")
        )

    def _write(self, file_id: str, data: bytes, content_type: str) -> None:
        # a single PUT is atomic: the object exists whole or not at all
        self.s3.put_object(
            Bucket=self.bucket, Key=f"files/{file_id}", Body=data, ContentType=content_type
        )

    def _remove(self, file_id: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=f"files/{file_id}")

    def _names(self) -> Iterator[str]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix="files/"
        ):
            for item in page.get("Contents", []):
                yield str(item["Key"]).removeprefix("files/")

    def read(self, file_id: str) -> bytes:
        answer = self.s3.get_object(Bucket=self.bucket, Key=f"files/{file_id}")
        data: bytes = answer["Body"].read()
        return data

    def response(self, record: FileRecord) -> Response:
        disposition = f'inline; filename="{record.filename}"'
        return Response(
            self.read(record.id),
            media_type=record.content_type,
            headers={"Content-Disposition": disposition},
        )

    def free_bytes(self) -> int | None:
        return None  # a bucket has no free-space probe: its last write result says


FileStore = LocalFileStore | S3FileStore


def open_files(
    files_url: str | None, files_dir: Path, store: Store, quota: int | None = None
) -> FileStore:
    if files_url and files_url.startswith("s3://"):
        return S3FileStore(files_url, store, quota)
    return LocalFileStore(Path(files_url) if files_url else files_dir, store, quota)
