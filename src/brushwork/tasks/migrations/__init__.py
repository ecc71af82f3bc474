"""Alembic migrations of the task store, run in code (no alembic.ini): ``upgrade(engine)``.

``brushwork serve`` and every worker apply them on start, under a lock so that
processes starting together do not race; ``brushwork db upgrade`` applies them
by hand. A schema change is a new file in ``versions/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

# Alembic logs INFO lines at import and per revision on every start: nothing for an operator
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

HERE = Path(__file__).resolve().parent
LOCK_ID = 0x62727368  # "brsh": the PostgreSQL advisory lock that serialises migrations


def config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to call from many processes at once."""
    with _lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        cfg = config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextlib.contextmanager
def _lock(engine: Engine) -> Iterator[None]:
    """SQLite: an exclusive lock on a file beside the database (PostgreSQL locks in SQL)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
