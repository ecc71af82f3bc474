"""Throughput and latency under load against the ceiling the pictures allow, embedded vs
PostgreSQL + Redis, with and without downloading each image.

    python bench/throughput.py [--tasks 240] [--clients 16] [--workers 2]

Each configuration gets a fresh data directory (and fresh PostgreSQL/Redis servers from
Debian's packages, started here on loopback). First, idle, one client runs ``--idle`` tasks
one after another: the median of their engine + encode seconds (``output_meta.timings``,
single-threaded, so CPU seconds) gives the ceiling, cores ÷ that, the rate at which the
machine could make these pictures if nothing else cost anything. Then ``--clients`` SDK
clients in threads run the tasks (1024x1024 studio, low quality, distinct prompts) in a
closed loop, each waiting for its task (and downloading its image, in the "download"
rows); afterwards every task is checked: lost = never recorded, stuck = not finished.
Prints tasks per second, the share of the ceiling, latency percentiles and p95 ÷ p50.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import brushwork

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import (  # noqa: E402
    PostgresCluster,
    free_port,
    new_database,
    start_redis,
    start_server,
    stop_server,
)

LOAD = {"BRUSHWORK_RATE_LIMIT_PER_MINUTE": "0", "BRUSHWORK_MAX_QUEUED_PER_KEY": "10000"}


@contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def setup(name: str, workers: int) -> Iterator[brushwork.Client]:
    data = Path(tempfile.mkdtemp(prefix="brushwork-bench-"))
    env = dict(LOAD)
    procs: list[subprocess.Popen[bytes]] = []
    cluster = None
    with redis_server() if name != "embedded" else _nothing() as redis_url:
        if name != "embedded":
            cluster = PostgresCluster()
            cluster.start()
            env |= {
                "BRUSHWORK_DATABASE_URL": new_database(cluster.url),
                "BRUSHWORK_QUEUE_URL": redis_url,
            }
        args = () if name == "embedded" else ("--no-workers",)
        server = start_server(data, *args, env_extra=env)
        if name != "embedded":
            worker_env = {**os.environ, **env}
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "brushwork.cli",
                        "worker",
                        "--workers",
                        str(workers),
                        "--data-dir",
                        str(data),
                    ],
                    env=worker_env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        try:
            with brushwork.inference(
                base_url=server.base_url, api_key=server.key, timeout=120
            ) as c:
                yield c
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)
            stop_server(server)
            if cluster is not None:
                cluster.remove()
            shutil.rmtree(data, ignore_errors=True)


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


def ceiling(client: brushwork.Client, idle: int) -> tuple[float, float]:
    """(seconds of engine + encode per task, measured idle, median; tasks/s the cores allow)."""
    spent = []
    for i in range(idle):
        task = client.run(
            {"app": "brushwork/studio",
             "input": {"prompt": f"idle {i}", "quality": "low", "seed": 1000 + i}}
        )  # fmt: skip
        timings = task["output"]["output_meta"]["timings"]
        spent.append(timings["engine_s"] + timings["encode_s"])
    per_task = statistics.median(spent[1:] if len(spent) > 2 else spent)  # the first warms up
    return per_task, (os.cpu_count() or 1) / per_task


def load(
    client: brushwork.Client, tasks: int, clients: int, download: bool = False
) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    ids: list[str] = []
    lock = threading.Lock()
    base_url, key = client.base_url, client._http.headers.get("authorization", "")[7:]

    def one_client(count: int, offset: int) -> None:
        with brushwork.inference(base_url=base_url, api_key=key, timeout=300) as mine:
            for i in range(count):
                started = time.perf_counter()
                task = mine.run(
                    {
                        "app": "brushwork/studio",
                        "input": {"prompt": f"load {offset + i}", "quality": "low", "seed": i},
                    }
                )
                if download:
                    mine.files.download(task["output"]["images"][0]["uri"])
                with lock:
                    latencies.append(time.perf_counter() - started)
                    ids.append(task["id"])

    per = [tasks // clients + (1 if i < tasks % clients else 0) for i in range(clients)]
    threads = [
        threading.Thread(target=one_client, args=(n, sum(per[:i]))) for i, n in enumerate(per)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, ids


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=240)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--idle", type=int, default=8, help="idle tasks for the ceiling")
    parser.add_argument("--backends", default="embedded,postgresql+redis")
    args = parser.parse_args()
    print(f"{args.tasks} tasks (1024x1024 studio, low) from {args.clients} closed-loop SDK "
          f"clients, {args.workers} workers, {os.cpu_count()} cores\n")  # fmt: skip
    cols = ("backend", "download", "tasks/s", "ceiling", "share", "p50 ms", "p95 ms",
            "p95/p50", "done", "lost", "stuck")  # fmt: skip
    head = "{:<17} {:>8} {:>7} {:>7} {:>6} {:>7} {:>7} {:>7} {:>5} {:>4} {:>5}".format(*cols)
    print(head)
    print("-" * len(head))
    for name in args.backends.split(","):
        for download in (False, True):
            with setup(name, args.workers) as client:
                per_task, most = ceiling(client, args.idle)
                wall, latencies, ids = load(client, args.tasks, args.clients, download)
                recorded = {t["id"]: t["status"] for t in _all_tasks(client)}
            lost = sum(1 for i in ids if i not in recorded) + (args.tasks - len(ids))
            stuck = sum(1 for status in recorded.values() if status < 9)
            done = sum(1 for status in recorded.values() if status == 9)
            p50, p95 = statistics.median(latencies) * 1000, pct(latencies, 0.95) * 1000
            rate = len(ids) / wall
            print(f"{name:<17} {'yes' if download else 'no':>8} {rate:7.1f} {most:7.1f} "
                  f"{rate / most:6.0%} {p50:7.0f} {p95:7.0f} {p95 / p50:7.2f} {done:>5} "
                  f"{lost:>4} {stuck:>5}   (engine+encode idle {per_task * 1000:.0f} ms)",
                  flush=True)  # fmt: skip


def _all_tasks(client: brushwork.Client) -> Iterator[dict]:
    cursor = None
    while True:
        page = client.tasks.list(limit=100, cursor=cursor)
        yield from page["data"]
        if not page["has_more"]:
            return
        cursor = page["next_cursor"]


if __name__ == "__main__":
    main()
