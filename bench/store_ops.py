"""CPU per call of the task store's operations on SQLite, against SQLite doing the same work.

    python bench/store_ops.py [--calls 300]

A task's life is a few store calls in the API (the queue-room count, the record, reads) and
in the worker (status writes, the file record). Each row times one of them through
``Store`` (SQLAlchemy Core, statements built once with bound parameters) and, beside it, the
same SQL through the standard library's ``sqlite3`` on the same file: the difference is what
the Python layers cost. Medians of process CPU time, one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from brushwork.contract import TaskStatus
from brushwork.tasks.store import Store

APP = "brushwork/studio"
INPUT = {"prompt": "load 1", "quality": "low", "seed": 1}


def cpu_ms(call: Callable[[int], object], calls: int) -> float:
    spent = []
    for i in range(calls):
        started = time.process_time()
        call(i)
        spent.append(time.process_time() - started)
    return statistics.median(spent) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    n = args.calls
    path = Path(tempfile.mkdtemp(prefix="brushwork-store-")) / "store.db"
    store = Store(path)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous=NORMAL")
    ids: list[str] = []
    plain: list[str] = [f"{i:032x}" for i in range(n)]

    def create(i: int) -> None:
        task = store.create_task(
            owner="o", app=APP, input=INPUT, file_ids={"images": []}, queued=True, turn=0
        )
        ids.append(task["id"])

    def raw_create(i: int) -> None:
        now = time.time()
        raw.execute("BEGIN")
        raw.execute(
            "INSERT INTO tasks (id, owner, app, status, input, files, logs, progress, attempts,"
            " options, webhook_attempts, turn, created_at, updated_at)"
            " VALUES (?, 'o', ?, 2, ?, '{}', '', 0, 0, '{}', '[]', 0, ?, ?) RETURNING *",
            (plain[i], APP, json.dumps(INPUT), now, now),
        ).fetchone()
        for status in (1, 2):
            raw.execute(
                "INSERT INTO task_events (task_id, payload) VALUES (?, ?)",
                (plain[i], json.dumps({"status": status, "progress": 0})),
            )
        raw.execute("COMMIT")

    def raw_write(i: int) -> None:
        raw.execute("BEGIN")
        raw.execute(
            "UPDATE tasks SET status = 3, updated_at = ?, started_at = ?, heartbeat_at = ?,"
            " worker = 'w', attempts = attempts + 1, logs = logs || ?"
            " WHERE id = ? AND status NOT IN (9, 10, 11) RETURNING status, progress",
            (time.time(), time.time(), time.time(), "picked up\n", plain[i]),
        ).fetchone()
        raw.execute(
            "INSERT INTO task_events (task_id, payload) VALUES (?, ?)",
            (plain[i], json.dumps({"status": 3, "progress": 0, "logs": "picked up\n"})),
        )
        raw.execute("COMMIT")

    rows = [
        ("create a queued task", create, raw_create),
        (
            "the queue-room count",
            lambda i: store.waiting_counts(APP, "o"),
            lambda i: raw.execute(
                "SELECT count(*) FROM tasks WHERE status IN (1, 2) AND (app = ? OR owner = ?)",
                (APP, "o"),
            ).fetchone(),
        ),
        (
            "read a task",
            lambda i: store.get_task(ids[i]),
            lambda i: raw.execute("SELECT * FROM tasks WHERE id = ?", (plain[i],)).fetchone(),
        ),
        (
            "read a status",
            lambda i: store.status_of(ids[i]),
            lambda i: raw.execute("SELECT status FROM tasks WHERE id = ?", (plain[i],)).fetchone(),
        ),
        (
            "a status write (claim)",
            lambda i: store.update(
                ids[i], status=TaskStatus.PREPARING, log="picked up\n", worker="w"
            ),
            raw_write,
        ),
    ]
    print(f"{n} calls each, SQLite at {path}\n")
    head = f"{'operation':<24} {'Store ms':>9} {'sqlite3 ms':>11} {'ratio':>6}"
    print(head)
    print("-" * len(head))
    for name, through_store, through_sqlite in rows:
        ours, bare = cpu_ms(through_store, n), cpu_ms(through_sqlite, n)
        print(f"{name:<24} {ours:9.3f} {bare:11.3f} {ours / bare:6.1f}")
    if shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        postgres_pings(n * 10)


def machine_busy_s() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def postgres_pings(calls: int) -> None:
    import brushwork.tasks.store as store_module

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.conftest import PostgresCluster, new_database

    cluster = PostgresCluster()
    cluster.start()
    try:
        store = Store(new_database(cluster.url))
        task_id = store.create_task(owner="o", app=APP, input=INPUT, file_ids={})["id"]
        spent: dict[str, list[float]] = {"every checkout": [], "after 1 s idle": []}
        for _ in range(3):  # alternated: the machine's speed drifts
            for label, idle in (("every checkout", 0.0), ("after 1 s idle", 1.0)):
                store_module.PING_AFTER_IDLE_SECONDS = idle
                started = machine_busy_s()
                for _ in range(calls):
                    store.status_of(task_id)
                spent[label].append((machine_busy_s() - started) / calls * 1e6)
        store.engine.dispose()
    finally:
        cluster.remove()
    every, idle = (statistics.median(v) for v in spent.values())
    print(
        f"\nPostgreSQL, machine CPU per status read ({calls} reads, median of 3): a ping on "
        f"every checkout {every:.0f} µs, after 1 s idle {idle:.0f} µs ({every / idle:.2f}x)"
    )


if __name__ == "__main__":
    main()
