"""Throughput and latency under load against the ceiling the pictures allow, embedded vs
PostgreSQL + Redis, with and without downloading each image.

    python bench/throughput.py [--tasks 240] [--clients 16] [--workers 2]

Each configuration gets a fresh data directory (and fresh PostgreSQL/Redis servers from
Debian's packages, started here on loopback). The ceiling: in this process with nothing else
running, the very pictures of the load are made and encoded one after another, before the
loads and again after them (a shared host's speed drifts by a fifth within minutes); cores ÷
their mean CPU seconds is the rate at which the machine could make these pictures if nothing
else cost anything. Then, after a few warm-up tasks, ``--clients`` SDK clients in threads run
the tasks (1024x1024 studio, low quality, distinct prompts, the default moderation) in a
closed loop, each waiting for its task (and downloading its image, in the "download" rows);
afterwards every task is checked: lost = never recorded, stuck = not finished. Prints tasks
per second, the share of the ceiling, the share of the machine's CPU that went to pictures
during the load (the workers' own engine + encode CPU seconds, ``output_meta.timings``),
latency percentiles and p95 ÷ p50.
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


def inputs(tasks: int, clients: int) -> list[list[tuple[str, int]]]:
    """Each closed-loop client's (prompt, seed) pairs: distinct prompts, the same every run."""
    per = [tasks // clients + (1 if i < tasks % clients else 0) for i in range(clients)]
    return [[(f"load {sum(per[:c]) + i}", i) for i in range(n)] for c, n in enumerate(per)]


def ceiling(tasks: int, clients: int) -> tuple[float, float]:
    """(CPU seconds of engine + encode per task, the mean over exactly the load's pictures;
    tasks/s the cores allow), measured in this process with nothing else running and the
    math libraries on one thread as in a worker. Measured instead as the median of 8 idle tasks
    through each fresh server, the same 8 pictures gave 64 to 234 ms in one run (the server's
    start-up work overlapping them), and other pictures than the load's."""
    from brushwork.cpu import one_math_thread
    from brushwork.engines.base import Request
    from brushwork.engines.studio import StudioEngine
    from brushwork.imaging import codecs

    one_math_thread()
    engine = StudioEngine()
    engine.load()
    spent = []
    for prompt, seed in (pair for mine in inputs(tasks, clients) for pair in mine):
        request = Request(mode="generate", prompt=prompt, width=1024, height=1024, n=1,
                          quality="low", seed=seed)  # fmt: skip
        started = time.process_time()
        image = engine.run(request, lambda *a, **k: None, lambda: False)[0]
        codecs.encode(image, "png", credit="; ".join(request.meta.get("attributions") or []))
        spent.append(time.process_time() - started)
    per_task = statistics.fmean(spent)
    return per_task, (os.cpu_count() or 1) / per_task


def warm_up(client: brushwork.Client, workers: int) -> None:
    """A few tasks first: the API's moderation model and each worker's engine load once."""
    for i in range(2 * workers):
        client.run({"app": "brushwork/studio", "input": {"prompt": f"warm {i}", "quality": "low"}})


def load(
    client: brushwork.Client, tasks: int, clients: int, download: bool = False
) -> tuple[float, list[float], list[str], list[float]]:
    latencies: list[float] = []
    ids: list[str] = []
    pictures: list[float] = []  # the workers' CPU seconds of engine + encode, per task
    lock = threading.Lock()
    base_url, key = client.base_url, client._http.headers.get("authorization", "")[7:]

    def one_client(mine: list[tuple[str, int]]) -> None:
        with brushwork.inference(base_url=base_url, api_key=key, timeout=300) as sdk:
            for prompt, seed in mine:
                started = time.perf_counter()
                task = sdk.run(
                    {
                        "app": "brushwork/studio",
                        "input": {"prompt": prompt, "quality": "low", "seed": seed},
                    }
                )
                if download:
                    sdk.files.download(task["output"]["images"][0]["uri"])
                timings = task["output"]["output_meta"]["timings"]
                with lock:
                    latencies.append(time.perf_counter() - started)
                    ids.append(task["id"])
                    pictures.append(timings["engine_cpu_s"] + timings["encode_cpu_s"])

    threads = [threading.Thread(target=one_client, args=(m,)) for m in inputs(tasks, clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, ids, pictures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=240)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="embedded,postgresql+redis")
    args = parser.parse_args()
    print(f"{args.tasks} tasks (1024x1024 studio, low) from {args.clients} closed-loop SDK "
          f"clients, {args.workers} workers, {os.cpu_count()} cores\n")  # fmt: skip
    cols = ("backend", "download", "tasks/s", "ceiling", "share", "pictures", "p50 ms",
            "p95 ms", "p95/p50", "done", "lost", "stuck")  # fmt: skip
    head = "{:<17} {:>8} {:>7} {:>7} {:>6} {:>8} {:>7} {:>7} {:>7} {:>5} {:>4} {:>5}".format(*cols)
    cores = os.cpu_count() or 1
    before = ceiling(args.tasks, args.clients)[0]  # measured again after the loads: the
    rows = []  # machine's speed drifts by a fifth between minutes on a shared host
    for name in args.backends.split(","):
        for download in (False, True):
            with setup(name, args.workers) as client:
                warm_up(client, args.workers)
                wall, latencies, ids, pictures = load(client, args.tasks, args.clients, download)
                recorded = {t["id"]: t["status"] for t in _all_tasks(client)}
            lost = sum(1 for i in ids if i not in recorded) + (args.tasks - len(ids))
            stuck = sum(1 for status in recorded.values() if status < 9)
            done = sum(1 for status in recorded.values() if status == 9)
            p50, p95 = statistics.median(latencies) * 1000, pct(latencies, 0.95) * 1000
            in_load = sum(pictures) / (cores * wall)
            rows.append((name, download, len(ids) / wall, in_load, p50, p95, done, lost, stuck))
            print(f"  {name}, download {download}: done", flush=True)
    after = ceiling(args.tasks, args.clients)[0]
    per_task = (before + after) / 2
    most = cores / per_task
    print(f"\nceiling: {cores} cores / {per_task * 1000:.1f} ms of engine + encode CPU per task "
          f"(the mean over these {args.tasks} pictures, made idle in this process: "
          f"{before * 1000:.1f} ms before the loads, {after * 1000:.1f} ms after) "
          f"= {most:.1f} tasks/s")  # fmt: skip
    print("share = tasks/s ÷ ceiling; pictures = the workers' engine + encode CPU seconds "
          "during the load ÷ (cores × its wall time)\n")  # fmt: skip
    print(head)
    print("-" * len(head))
    for name, download, rate, in_load, p50, p95, done, lost, stuck in rows:
        print(f"{name:<17} {'yes' if download else 'no':>8} {rate:7.1f} {most:7.1f} "
              f"{rate / most:6.0%} {in_load:8.0%} {p50:7.0f} {p95:7.0f} {p95 / p50:7.2f} "
              f"{done:>5} {lost:>4} {stuck:>5}")  # fmt: skip


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
