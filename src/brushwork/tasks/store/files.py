"""The files index: who owns each stored file and what it is (the bytes live in ``files/``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import insert, select

from brushwork.tasks.store.tables import Room, files


@dataclass(frozen=True)
class FileRecord:
    id: str
    owner: str
    filename: str
    content_type: str
    size: int


class FileIndex(Room):
    def add_file(self, record: FileRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(files).values(
                    id=record.id,
                    owner=record.owner,
                    filename=record.filename,
                    content_type=record.content_type,
                    size=record.size,
                    created_at=time.time(),
                )
            )

    def get_file(self, file_id: str, owner: str | None = None) -> FileRecord | None:
        query = select(files).where(files.c.id == file_id)
        if owner is not None:
            query = query.where(files.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return FileRecord(
            row["id"], row["owner"], row["filename"], row["content_type"], row["size"]
        )
