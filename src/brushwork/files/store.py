"""File bytes on local disk: inputs people upload and images engines make.

Each blob is written to a temporary name and renamed into place, so a crash
never leaves a half-written file under a real id; the record (owner, name,
type, size) goes to the task store only after the bytes are safe.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

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

    def path(self, file_id: str) -> Path:
        return self._path(file_id)
