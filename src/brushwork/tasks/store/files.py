"""The files index: who owns each stored file and what it is (the bytes live in ``files/``),
which files are past retention, what each owner deleted, and how much each owner stores."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update

from brushwork.tasks.store.tables import Room, deletions, files

# built once: every task adds a file and every download reads one (records.py says why)
_ADD = insert(files)
_GET = select(files).where(files.c.id == bindparam("file_id"))
_GET_OWNED = _GET.where(files.c.owner == bindparam("owner"))


@dataclass(frozen=True)
class FileRecord:
    id: str
    owner: str
    filename: str
    content_type: str
    size: int
    created_at: float = 0.0
    expired_at: float | None = None  # past retention: the bytes are gone (410)


class FileIndex(Room):
    def add_file(self, record: FileRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _ADD,
                {
                    "id": record.id,
                    "owner": record.owner,
                    "filename": record.filename,
                    "content_type": record.content_type,
                    "size": record.size,
                    "created_at": record.created_at or time.time(),
                },
            )

    def get_file(self, file_id: str, owner: str | None = None) -> FileRecord | None:
        query = _GET if owner is None else _GET_OWNED
        with self.engine.connect() as conn:
            row = conn.execute(query, {"file_id": file_id, "owner": owner}).mappings().first()
        if row is None:
            return None
        return FileRecord(
            row["id"],
            row["owner"],
            row["filename"],
            row["content_type"],
            row["size"],
            row["created_at"],
            row["expired_at"],
        )

    def forget_files(self, file_ids: list[str], owner: str | None = None) -> None:
        """Drop the records (their bytes are removed by the file store), noting who deleted
        what so that deleting again answers 204."""
        if not file_ids:
            return
        now = time.time()
        with self.engine.begin() as conn:
            query = select(files.c.id, files.c.owner).where(files.c.id.in_(file_ids))
            found = conn.execute(query).all()
            conn.execute(delete(files).where(files.c.id.in_(file_ids)))
            if owner is not None:
                for file_id, file_owner in found:
                    self._note_deleted(conn, file_id, "file", file_owner, now)

    def _note_deleted(self, conn: object, item_id: str, kind: str, owner: str, at: float) -> None:
        conn.execute(  # type: ignore[attr-defined]
            insert(deletions).values(id=item_id, kind=kind, owner=owner, at=at)
        )

    def was_deleted(self, item_id: str, kind: str, owner: str) -> bool:
        query = select(deletions.c.id).where(
            deletions.c.id == item_id, deletions.c.kind == kind, deletions.c.owner == owner
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def expire_files(self, file_ids: list[str], at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(files).where(files.c.id.in_(file_ids)).values(expired_at=at))

    def files_created_before(self, before: float, limit: int = 500) -> list[str]:
        """Live files older than ``before`` (the retention sweep's work), oldest first."""
        query = (
            select(files.c.id)
            .where(files.c.created_at < before, files.c.expired_at.is_(None))
            .order_by(files.c.created_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [str(r) for r in conn.execute(query).scalars()]

    def live_file_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            query = select(files.c.id).where(files.c.expired_at.is_(None))
            return {str(r) for r in conn.execute(query).scalars()}

    def bytes_of(self, owner: str) -> int:
        """What an owner stores now (the per-key quota counts this)."""
        query = select(func.coalesce(func.sum(files.c.size), 0)).where(
            files.c.owner == owner, files.c.expired_at.is_(None)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def storage_totals(self) -> tuple[int, int]:
        """(bytes, files) stored now, for /metrics."""
        query = select(func.coalesce(func.sum(files.c.size), 0), func.count()).where(
            files.c.expired_at.is_(None)
        )
        with self.engine.connect() as conn:
            total, count = conn.execute(query).one()
        return int(total), int(count)
