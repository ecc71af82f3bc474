"""The task store's tables: one SQLAlchemy ``MetaData`` that the migrations also read.

A change here ships with a new Alembic revision in ``tasks/migrations/versions``, so that
data written by earlier versions opens unchanged.
"""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, Column, Engine, Float, Index, Integer, MetaData, String, Table, Text

from brushwork.contract import TaskStatus

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
    Column("session_id", String(200), index=True),
    Column("parent_id", String(32)),  # in a session: the call whose output this one edits
    Column("worker", String(64)),  # which worker process holds it, once picked up
    Column("heartbeat_at", Float),  # the holding worker says it is alive (tasks/recovery.py)
    Column("attempts", Integer, nullable=False, default=0),
    Column("engine_seconds", Float),  # measured by the worker, for /metrics
    Column("encode_seconds", Float),
    Column("options", JSON, nullable=False, default=dict),  # internal: {"previews": n}
    Column("turn", Integer),  # its round in the app's queue (keys take turns: tasks/queue.py)
    Column("webhook", Text),
    Column("webhook_state", String(16), index=True),  # pending | delivered | failed
    Column("webhook_next_at", Float),
    Column("webhook_attempts", JSON, nullable=False, default=list),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("started_at", Float),
    Column("completed_at", Float),
    Column("deleted_at", Float),  # a tombstone: deleted, kept until its webhook is delivered
    Index("ix_tasks_status_app", "status", "app"),  # what waits for an app, at each submission
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
    Column("created_at", Float, nullable=False, index=True),
    Column("expired_at", Float),  # past retention: the bytes are gone, the record answers 410
)

sessions = Table(  # SPEC §8: one conversation of passes over one picture
    "sessions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("owner", String(32), nullable=False, index=True),
    Column("app", String(200), nullable=False),
    Column("idle_timeout", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_call_at", Float),
    Column("expires_at", Float, nullable=False),  # idle clock: every call resets it
    Column("ended_at", Float),
    Column("call_count", Integer, nullable=False),
    Column("worker", String(128)),  # the worker that ran its last call (warm state)
)

deletions = Table(  # what each owner deleted: a repeated DELETE answers 204, not 404
    "deletions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),  # task | file
    Column("owner", String(32), nullable=False),
    Column("at", Float, nullable=False),
)

leases = Table(  # one holder at a time for jobs many API servers share (the retention sweep)
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("until", Float, nullable=False),
)

# Statuses in which a worker holds a task (between pick-up and a terminal status).
HELD = tuple(s for s in TaskStatus if TaskStatus.SCHEDULED <= s <= TaskStatus.UPLOADING)
WAITING = (TaskStatus.RECEIVED, TaskStatus.QUEUED)


def new_id() -> str:
    return uuid.uuid4().hex


class Room:
    """One part of the store (keys, tasks, outbox, workers, files); ``Store`` joins them over
    one database engine."""

    engine: Engine
