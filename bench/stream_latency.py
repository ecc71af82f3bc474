"""How soon a worker's progress reaches clients streaming from API servers on other "machines".

    python bench/stream_latency.py [--tasks 5]

Starts PostgreSQL, Redis and S3 (moto) on loopback, two API servers without workers
(A and B) and one `brushwork worker`, all separate processes sharing only those
services. Each task (the 40-step test/slow engine) is started through A while two
clients stream it, one from A and one from B; for every update the delay is the
arrival time minus the time the worker recorded it. Target (issue 5): 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import (  # noqa: E402
    PLUGINS,
    ROOT,
    PostgresCluster,
    moto_s3,
    new_bucket,
    new_database,
    start_server,
    stop_server,
)
from throughput import redis_server  # noqa: E402

import brushwork  # noqa: E402


def stream(base: str, key: str, task_id: str, delays: list[float]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream("GET", f"{base}/tasks/{task_id}/stream", headers=headers, timeout=60) as r:
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "update":
                data = json.loads(line[6:])
                if data.get("status") == 7 and "at" in data:
                    delays.append(time.time() - data["at"])
            elif line.startswith("data: ") and event == "done":
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    cluster = PostgresCluster()
    cluster.start()
    servers = []
    worker = None
    with redis_server() as redis_url, moto_s3() as endpoint:
        env = {
            "BRUSHWORK_DATABASE_URL": new_database(cluster.url),
            "BRUSHWORK_QUEUE_URL": redis_url,
            "BRUSHWORK_FILES_URL": new_bucket(endpoint),
        }
        try:
            for name in ("a", "b"):
                data = Path(tempfile.mkdtemp(prefix=f"brushwork-api-{name}-"))
                servers.append(start_server(data, "--no-workers", env_extra=env))
            worker_env = {
                **os.environ,
                **env,
                "PYTHONPATH": str(ROOT),
                "BRUSHWORK_PLUGINS": json.dumps(PLUGINS),
            }
            worker = subprocess.Popen(
                [sys.executable, "-m", "brushwork.cli", "worker", "--data-dir", tempfile.mkdtemp()],
                env=worker_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            a, b = servers
            delays: dict[str, list[float]] = {
                "A (where the task was started)": [],
                "B (another API server)": [],
            }
            with brushwork.inference(base_url=a.base_url, api_key=a.key) as client:
                for i in range(args.tasks):
                    task = client.run(
                        {"app": "test/slow", "input": {"prompt": f"s{i}"}}, wait=False
                    )
                    threads = [
                        threading.Thread(target=stream, args=(srv.base_url, a.key, task["id"], out))
                        for srv, out in zip((a, b), delays.values(), strict=True)
                    ]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
            print(f"{args.tasks} tasks x 40 progress updates; delay = arrival - recorded\n")
            cols = ("streaming from", "updates", "median ms", "p95 ms", "max ms")
            print("{:<32} {:>8} {:>10} {:>8} {:>8}".format(*cols))
            for name, values in delays.items():
                ordered = sorted(values)
                p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
                print(
                    f"{name:<32} {len(values):>8} {statistics.median(values) * 1000:10.1f} "
                    f"{p95 * 1000:8.1f} {ordered[-1] * 1000:8.1f}"
                )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(30)
            for server in servers:
                stop_server(server)
            cluster.remove()


if __name__ == "__main__":
    main()
