"""File bytes: inputs people upload and images engines make, on local disk or S3.

``open_files(files_url, files_dir, store)`` picks the backend from ``files_url``
(``BRUSHWORK_FILES_URL``): the directory ``files_dir`` when it is unset, another
directory when it is a path, or ``s3://bucket?endpoint=…&region=…`` for an
S3-compatible store shared by every machine. Bytes are stored first (locally:
a temporary name renamed into place, so a crash never leaves a half-written
file under a real id; on S3 a single PUT is atomic) and the record (owner,
name, type, size) goes to the task store only after the bytes are safe.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from starlette.responses import FileResponse, Response

from brushwork.tasks.store import FileRecord, Store, new_id

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str | None, default: str = "file") -> str:
    base = os.path.basename(name or "").strip()
    cleaned = _SAFE_NAME.sub("_", base).strip("._")[:120]
    return cleaned or default


class LocalFileStore:
    def __init__(self, root: Path, store: Store):
        self.root = root
        self.store = store
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, file_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", file_id):
            raise ValueError("not a file id")
        return self.root / file_id[:2] / file_id

    def put(self, data: bytes, *, owner: str, filename: str, content_type: str) -> FileRecord:
        record = FileRecord(new_id(), owner, safe_filename(filename), content_type, len(data))
        path = self._path(record.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.store.add_file(record)
        return record

    def read(self, file_id: str) -> bytes:
        return self._path(file_id).read_bytes()

    def response(self, record: FileRecord) -> Response:
        return FileResponse(
            self._path(record.id),
            media_type=record.content_type,
            filename=record.filename,
            content_disposition_type="inline",
        )


class S3FileStore:
    """Blobs in an S3-compatible bucket (AWS, MinIO, moto), keyed ``files/{id}``."""

    def __init__(self, url: str, store: Store):
        import boto3

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.bucket = parts.netloc
        self.store = store
        self.s3 = boto3.client(
            "s3", endpoint_url=query.get("endpoint"), region_name=query.get("region", "us-east-1")
        )

    def put(self, data: bytes, *, owner: str, filename: str, content_type: str) -> FileRecord:
        record = FileRecord(new_id(), owner, safe_filename(filename), content_type, len(data))
        self.s3.put_object(
            Bucket=self.bucket, Key=f"files/{record.id}", Body=data, ContentType=content_type
        )
        self.store.add_file(record)
        return record

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


FileStore = LocalFileStore | S3FileStore


def open_files(files_url: str | None, files_dir: Path, store: Store) -> FileStore:
    if files_url and files_url.startswith("s3://"):
        return S3FileStore(files_url, store)
    return LocalFileStore(Path(files_url) if files_url else files_dir, store)
