"""The task store: one database (SQLite by default, PostgreSQL when outgrown), in rooms.

``tables`` (the schema the migrations read), ``records`` (tasks and their event log: every
status change goes through one helper that also publishes it), ``sessions`` (multi-pass
editing: order, idle clock, the latest output), ``keys`` (API keys, signing
secrets), ``outbox`` (webhook deliveries), ``workers`` (who is alive, what each holds) and
``files`` (the files index). :class:`Store` joins them over one engine and migrates the
schema when it opens. It knows nothing of HTTP, engines or the queue.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import DisconnectionError

from brushwork.tasks.store.files import FileIndex, FileRecord
from brushwork.tasks.store.keys import DEV_OWNER, Keys
from brushwork.tasks.store.outbox import Outbox
from brushwork.tasks.store.records import TaskRecords
from brushwork.tasks.store.sessions import Sessions
from brushwork.tasks.store.tables import HELD, new_id
from brushwork.tasks.store.workers import Workers

__all__ = ["DEV_OWNER", "HELD", "FileRecord", "Store", "new_id"]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # the API and the workers share one file safely
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A pooled PostgreSQL connection that sat unused this long is pinged before it is handed out
# (a restarted server leaves the pool's connections dead). One in steady use is not: a ping on
# every checkout cost a round trip per statement, 5 ms of CPU per task on two cores. A steady
# one the server dropped fails one statement, which invalidates the pool (SQLAlchemy replaces
# every connection older than the failure); a worker gives back a task it could not read.
PING_AFTER_IDLE_SECONDS = 1.0


def _returned(_dbapi_conn: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


class Store(TaskRecords, Sessions, Keys, Outbox, Workers, FileIndex):
    def __init__(self, url: str | Path):
        """``url``: a SQLAlchemy URL (SQLite or PostgreSQL), or a SQLite file path."""
        if isinstance(url, Path):
            url = f"sqlite:///{url}"
        if url.startswith("sqlite"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_size=5, max_overflow=10)
            event.listen(self.engine, "checkout", self._ping_if_idle)
            event.listen(self.engine, "checkin", _returned)
        from brushwork.tasks.migrations import upgrade

        upgrade(self.engine)
        self.on_change = None

    def _ping_if_idle(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """Hand out a connection that sat idle only once it answers; a dead one is replaced
        (the pool retries the checkout with a fresh connection)."""
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # new (it just connected), or in steady use
        try:
            self.engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("the idle connection no longer answers") from exc

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))
