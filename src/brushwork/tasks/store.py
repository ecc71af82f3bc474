"""The task store: tasks, their event log (for stream replay), API keys and file records.

SQLAlchemy Core over SQLite by default (WAL, so the API process and the worker
processes read and write one file safely). Every status change goes through
:meth:`Store.update`, which refuses to touch a task that is already terminal and
appends an event in the same transaction, so the stream and the record agree.
It knows nothing of HTTP, engines or the queue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)

from brushwork.contract import TERMINAL, TaskStatus
from brushwork.errors import BrushworkError
from brushwork.signing import new_secret

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

tasks = Table(
    "tasks",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("owner", String(32), nullable=False, index=True),
    Column("app", String(200), nullable=False),
    Column("status", Integer, nullable=False),
    Column("input", JSON, nullable=False),
    Column("files", JSON, nullable=False),
    Column("output", JSON),
    Column("error", JSON),
    Column("logs", Text, nullable=False, default=""),
    Column("progress", Integer, nullable=False, default=0),
    Column("session_id", String(200)),
    Column("worker", String(64)),  # which worker process holds it, once picked up
    Column("heartbeat_at", Float),  # the holding worker says it is alive (tasks/recovery.py)
    Column("attempts", Integer, nullable=False, default=0),
    Column("engine_seconds", Float),  # measured by the worker, for /metrics
    Column("encode_seconds", Float),
    Column("options", JSON, nullable=False, default=dict),  # internal: {"previews": n}
    Column("webhook", Text),
    Column("webhook_state", String(16), index=True),  # pending | delivered | failed
    Column("webhook_next_at", Float),
    Column("webhook_attempts", JSON, nullable=False, default=list),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("started_at", Float),
    Column("completed_at", Float),
)

task_events = Table(
    "task_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(32), nullable=False, index=True),
    Column("payload", JSON, nullable=False),
)

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("owner", String(32), primary_key=True),
    Column("secret", String(100), nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("apps", JSON, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
)

files = Table(
    "files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(32), nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

KEY_PREFIX = "bw_"
# Statuses in which a worker holds a task (between pick-up and a terminal status).
HELD = tuple(s for s in TaskStatus if TaskStatus.SCHEDULED <= s <= TaskStatus.UPLOADING)
DEV_OWNER = "dev"


def new_id() -> str:
    return uuid.uuid4().hex


def hash_key(key: str) -> str:
    # API keys are 256-bit random tokens: a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(key.encode()).hexdigest()


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass(frozen=True)
class FileRecord:
    id: str
    owner: str
    filename: str
    content_type: str
    size: int


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    def __init__(self, url: str | Path):
        """``url``: a SQLAlchemy URL (SQLite or PostgreSQL), or a SQLite file path."""
        if isinstance(url, Path):
            url = f"sqlite:///{url}"
        sqlite = url.startswith("sqlite")
        if sqlite:
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        from brushwork.tasks.migrations import upgrade

        upgrade(self.engine)
        # told the id of each task that changed, after the change is committed (the API
        # servers of other machines learn of it through Redis; the store stays the record)
        self.on_change: Callable[[str], None] | None = None

    def _changed(self, task_id: str) -> None:
        if self.on_change is not None:
            try:
                self.on_change(task_id)
            except Exception:  # a missed notice only delays a wake-up; the record is safe
                logging.getLogger("brushwork.store").warning("change notice for %s failed", task_id)

    # ------------------------------------------------------------ keys

    def create_key(self, name: str = "default") -> str:
        """Make a key; returns the only copy of the plain key (the store keeps its hash)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = new_id()
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    name=name,
                    key_hash=hash_key(key),
                    prefix=key[:10],
                    created_at=time.time(),
                )
            )
            conn.execute(insert(webhook_secrets).values(owner=key_id, secret=new_secret()))
        return key

    def webhook_secret(self, owner: str) -> str:
        """The owner's webhook signing secret (``whsec_…``), made on first use."""
        with self.engine.begin() as conn:
            query = select(webhook_secrets.c.secret).where(webhook_secrets.c.owner == owner)
            found = conn.execute(query).scalar()
            if found is None:
                found = new_secret()
                conn.execute(insert(webhook_secrets).values(owner=owner, secret=found))
        return str(found)

    def owner_of_key(self, key: str) -> str | None:
        query = select(api_keys.c.id).where(
            api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def list_keys(self) -> list[dict[str, Any]]:
        query = select(
            api_keys.c.id,
            api_keys.c.name,
            api_keys.c.prefix,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
            webhook_secrets.c.secret.label("webhook_secret"),
        ).join(webhook_secrets, webhook_secrets.c.owner == api_keys.c.id, isouter=True)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(api_keys.c.created_at)).mappings()]

    def revoke_key(self, key_id_or_prefix: str) -> int:
        """Revoke the key with this id, or whose shown prefix this is; returns how many."""
        query = (
            update(api_keys)
            .where(
                (api_keys.c.id == key_id_or_prefix) | (api_keys.c.prefix == key_id_or_prefix),
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=time.time())
        )
        with self.engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    def server_secret(self, name: str) -> bytes:
        """A random secret shared by every process of this server (signing file links)."""
        owner = f"server:{name}"
        return self.webhook_secret(owner).encode()

    def redeliver_webhook(self, task_id: str) -> bool:
        query = (
            update(tasks)
            .where(
                tasks.c.id == task_id,
                tasks.c.webhook.isnot(None),
                tasks.c.status.in_([int(s) for s in TERMINAL]),
            )
            .values(webhook_state="pending", webhook_next_at=time.time())
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    def count_keys(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(api_keys)).scalar_one())

    # ------------------------------------------------------------ tasks

    def create_task(
        self,
        *,
        owner: str,
        app: str,
        input: dict[str, Any],
        file_ids: dict[str, Any],
        session_id: str | None = None,
        webhook: str | None = None,
        log: str = "",
        options: dict[str, Any] | None = None,
        queued: bool = False,
    ) -> dict[str, Any]:
        now = time.time()
        task_id = new_id()
        with self.engine.begin() as conn:
            conn.execute(
                insert(tasks).values(
                    id=task_id,
                    owner=owner,
                    app=app,
                    status=int(TaskStatus.RECEIVED),
                    input=input,
                    files=file_ids,
                    logs=log,
                    progress=0,
                    session_id=session_id,
                    webhook=webhook,
                    webhook_attempts=[],
                    attempts=0,
                    options=options or {},
                    created_at=now,
                    updated_at=now,
                )
            )
            self._event(conn, task_id, TaskStatus.RECEIVED, 0, log, None, None)
            if queued:  # recorded and queued in one transaction: one commit, two events
                conn.execute(
                    update(tasks).where(tasks.c.id == task_id).values(status=int(TaskStatus.QUEUED))
                )
                self._event(conn, task_id, TaskStatus.QUEUED, 0, None, None, None)
        task = self.get_task(task_id)
        assert task is not None
        return task

    def get_task(self, task_id: str, owner: str | None = None) -> dict[str, Any] | None:
        query = select(tasks).where(tasks.c.id == task_id)
        if owner is not None:
            query = query.where(tasks.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def list_tasks(
        self, owner: str, *, limit: int, before: int | None = None
    ) -> list[dict[str, Any]]:
        query = select(tasks).where(tasks.c.owner == owner)
        if before is not None:
            query = query.where(tasks.c.seq < before)
        query = query.order_by(tasks.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def status_of(self, task_id: str) -> TaskStatus | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id)).scalar()
        return None if value is None else TaskStatus(value)

    def update(
        self,
        task_id: str,
        *,
        status: TaskStatus | None = None,
        progress: int | None = None,
        log: str | None = None,
        output: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        expect: tuple[TaskStatus, ...] | None = None,
        worker: str | None = None,
        preview: dict[str, Any] | None = None,
        timings: tuple[float, float] | None = None,
    ) -> bool:
        """Change a task that is not terminal (and, with ``expect``, in one of those states).

        Returns False, changing nothing, when the task is terminal or not as expected:
        a cancelled task can never be completed by a slow worker.
        """
        now = time.time()
        values: dict[str, Any] = {"updated_at": now}
        if status is not None:
            values["status"] = int(status)
            if status == TaskStatus.PREPARING:  # a worker claims it
                values["started_at"] = now
                values["heartbeat_at"] = now
                values["attempts"] = tasks.c.attempts + 1
            if status.is_terminal():
                values["completed_at"] = now
                # the webhook outbox entry is written in the same transaction as the status
                values["webhook_state"] = case((tasks.c.webhook.isnot(None), "pending"), else_=None)
                values["webhook_next_at"] = now
        if progress is not None:
            values["progress"] = max(0, min(100, progress))
        if output is not None:
            values["output"] = output
        if error is not None:
            values["error"] = error
        if log:
            values["logs"] = tasks.c.logs + log
        if worker is not None:
            values["worker"] = worker
        if timings is not None:
            values["engine_seconds"], values["encode_seconds"] = timings
        query = update(tasks).where(tasks.c.id == task_id)
        query = query.where(tasks.c.status.notin_([int(s) for s in TERMINAL]))
        if expect is not None:
            query = query.where(tasks.c.status.in_([int(s) for s in expect]))
        with self.engine.begin() as conn:
            if conn.execute(query.values(**values)).rowcount == 0:
                return False
            row = conn.execute(
                select(tasks.c.status, tasks.c.progress).where(tasks.c.id == task_id)
            ).one()
            self._event(
                conn, task_id, TaskStatus(row.status), row.progress, log, output, error, preview
            )
        self._changed(task_id)
        return True

    def fail(
        self, task_id: str, error: BrushworkError, expect: tuple[TaskStatus, ...] | None = None
    ) -> bool:
        """End a task FAILED with ``error`` in the SPEC §4 envelope, and say why in its logs."""
        return self.update(
            task_id,
            status=TaskStatus.FAILED,
            error=error.envelope()["error"],
            log=f"failed: {error.message}\n",
            expect=expect,
        )

    def _event(
        self,
        conn: Any,
        task_id: str,
        status: TaskStatus,
        progress: int,
        log: str | None,
        output: dict[str, Any] | None,
        error: dict[str, Any] | None,
        preview: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "at": round(time.time(), 4),  # when it happened (stream latency is measurable)
            "status": int(status),
            "status_name": status.name,
            "progress": progress,
        }
        if log:
            payload["logs"] = log
        if output is not None:
            payload["output"] = output
        if error is not None:
            payload["error"] = error
        if preview is not None:
            payload["preview"] = preview
        conn.execute(insert(task_events).values(task_id=task_id, payload=payload))

    def events_after(self, task_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        query = (
            select(task_events.c.seq, task_events.c.payload)
            .where(task_events.c.task_id == task_id, task_events.c.seq > after)
            .order_by(task_events.c.seq)
        )
        with self.engine.connect() as conn:
            return [(r.seq, r.payload) for r in conn.execute(query)]

    def claim_webhooks(self, now: float, lease: float, limit: int = 20) -> list[dict[str, Any]]:
        """Pending deliveries that are due, each leased for ``lease`` seconds to this caller."""
        due = (
            select(tasks.c.id)
            .where(tasks.c.webhook_state == "pending", tasks.c.webhook_next_at <= now)
            .limit(limit)
        )
        claimed = []
        with self.engine.begin() as conn:
            for task_id in conn.execute(due).scalars().all():
                took = conn.execute(
                    update(tasks)
                    .where(
                        tasks.c.id == task_id,
                        tasks.c.webhook_state == "pending",
                        tasks.c.webhook_next_at <= now,
                    )
                    .values(webhook_next_at=now + lease)
                ).rowcount
                if took:
                    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().one()
                    claimed.append(dict(row))
        return claimed

    def record_webhook(
        self, task_id: str, attempt: dict[str, Any], state: str, next_at: float | None
    ) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(tasks.c.webhook_attempts).where(tasks.c.id == task_id)
            ).scalar_one()
            conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id)
                .values(
                    webhook_attempts=[*(row or []), attempt],
                    webhook_state=state,
                    webhook_next_at=next_at,
                )
            )

    def heartbeat(self, task_id: str, worker: str) -> None:
        query = (
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.worker == worker)
            .where(tasks.c.status.in_([int(s) for s in HELD]))
            .values(heartbeat_at=time.time())
        )
        with self.engine.begin() as conn:
            conn.execute(query)

    def held(
        self,
        *,
        worker: str | None = None,
        worker_like: str | None = None,
        stale_before: float | None = None,
    ) -> list[dict[str, Any]]:
        """Tasks a worker holds (picked up, not finished): of one worker, or gone quiet."""
        query = select(
            tasks.c.id, tasks.c.app, tasks.c.worker, tasks.c.attempts, tasks.c.status
        ).where(tasks.c.status.in_([int(s) for s in HELD]))
        if worker is not None:
            query = query.where(tasks.c.worker == worker)
        if worker_like is not None:
            query = query.where(tasks.c.worker.like(worker_like))
        if stale_before is not None:
            query = query.where(tasks.c.heartbeat_at < stale_before)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def requeue(self, task_id: str, worker: str | None, reason: str) -> bool:
        """Put a task its worker lost back in the queue's hands (status 2), if still held by it."""
        query = (
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.status.in_([int(s) for s in HELD]))
            .values(
                status=int(TaskStatus.QUEUED), worker=None, progress=0, logs=tasks.c.logs + reason
            )
        )
        query = query.where(tasks.c.worker == worker if worker else tasks.c.worker.is_(None))
        with self.engine.begin() as conn:
            if conn.execute(query).rowcount == 0:
                return False
            self._event(conn, task_id, TaskStatus.QUEUED, 0, reason, None, None)
        return True

    def count_waiting(self, *, app: str | None = None, owner: str | None = None) -> int:
        waiting = [int(TaskStatus.RECEIVED), int(TaskStatus.QUEUED)]
        query = select(func.count()).select_from(tasks).where(tasks.c.status.in_(waiting))
        if app is not None:
            query = query.where(tasks.c.app == app)
        if owner is not None:
            query = query.where(tasks.c.owner == owner)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def waiting_since(self, before: float) -> list[str]:
        """Ids of tasks still waiting for a worker that were created before ``before``."""
        waiting = [int(TaskStatus.RECEIVED), int(TaskStatus.QUEUED)]
        query = select(tasks.c.id).where(tasks.c.status.in_(waiting), tasks.c.created_at < before)
        with self.engine.connect() as conn:
            return [str(r) for r in conn.execute(query).scalars()]

    def worker_seen(self, name: str, pid: int, apps: list[str]) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            found = conn.execute(
                update(workers).where(workers.c.name == name).values(last_seen=now, pid=pid)
            ).rowcount
            if not found:
                conn.execute(
                    insert(workers).values(
                        name=name, pid=pid, apps=apps, started_at=now, last_seen=now
                    )
                )

    def worker_gone(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(workers.delete().where(workers.c.name == name))

    def count_workers(self, seen_after: float) -> int:
        query = select(func.count()).select_from(workers).where(workers.c.last_seen > seen_after)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def timing_totals(self) -> dict[str, tuple[float, int]]:
        """(sum, count) of engine and encode seconds over completed tasks."""
        done = tasks.c.status == int(TaskStatus.COMPLETED)
        query = select(
            func.coalesce(func.sum(tasks.c.engine_seconds), 0.0),
            func.coalesce(func.sum(tasks.c.encode_seconds), 0.0),
            func.count(tasks.c.engine_seconds),
        ).where(done)
        with self.engine.connect() as conn:
            engine_sum, encode_sum, count = conn.execute(query).one()
        return {
            "engine": (float(engine_sum), int(count)),
            "encode": (float(encode_sum), int(count)),
        }

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    def count_by_status(self) -> dict[int, int]:
        query = select(tasks.c.status, func.count()).group_by(tasks.c.status)
        with self.engine.connect() as conn:
            return {int(s): int(c) for s, c in conn.execute(query)}

    # ------------------------------------------------------------ files

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


def task_json(row: dict[str, Any], files_base: str) -> dict[str, Any]:
    """A task row as the API shows it (SPEC §5), with absolute file URIs."""
    status = TaskStatus(row["status"])
    return {
        "id": row["id"],
        "app": row["app"],
        "status": int(status),
        "status_name": status.name,
        "input": row["input"],
        "output": absolute_output(row["output"], files_base),
        "error": row["error"],
        "logs": row["logs"],
        "progress": row["progress"],
        "session_id": row["session_id"],
        "webhook": row["webhook"],
        "webhook_state": row["webhook_state"],
        "webhook_attempts": row["webhook_attempts"] or [],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
    }


def absolute_output(output: dict[str, Any] | None, files_base: str) -> dict[str, Any] | None:
    """Stored outputs hold ``/files/{id}``; clients get ``{base}/files/{id}``."""
    if not output:
        return output
    out: dict[str, Any] = json.loads(json.dumps(output))
    for image in [*out.get("images", []), *([out["preview"]] if "preview" in out else [])]:
        if image.get("uri", "").startswith("/"):
            image["uri"] = files_base.rstrip("/") + image["uri"]
    return out
