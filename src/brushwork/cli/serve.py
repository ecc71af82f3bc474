"""``brushwork serve``: the API in this process, a pool of worker processes beside it.

Workers are separate processes (engines are not thread-safe and must never
block the API); they are started with ``spawn`` so no engine state is shared,
and restarted if one dies. A task a dead worker held is re-queued once (its
second loss fails it), never lost: ``tasks/recovery``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from brushwork.apps.registry import Registry
from brushwork.cpu import one_math_thread
from brushwork.engines.diffusion.loading import visible_gpus
from brushwork.server import create_app
from brushwork.settings import Settings
from brushwork.tasks.queue import TaskQueue
from brushwork.tasks.recovery import recover
from brushwork.tasks.store import Store
from brushwork.tasks.worker import worker_process

log = logging.getLogger("brushwork.serve")


def first_key(settings: Settings, store: Store) -> str | None:
    """On the first start of a keyed server, make a key and return it (shown once)."""
    if settings.dev or store.count_keys():
        return None
    return store.create_key("first key")


@dataclass(frozen=True)
class Slot:
    """One worker process the pool keeps alive: its name, the apps it takes, its environment."""

    name: str
    apps: list[str]
    env: dict[str, str]
    one_core: bool = False  # a shared worker: its numerical libraries run on one thread


def device_slots(device: str) -> list[dict[str, str]]:
    """One environment per device for the workers of exclusive (large-model) engines.

    Each visible NVIDIA GPU gets its own worker pinned by ``CUDA_VISIBLE_DEVICES``;
    with none found (or an explicit device, ``BRUSHWORK_DIFFUSERS_DEVICE``) there is one.
    """
    if device == "auto" and (gpus := visible_gpus()):
        return [{"CUDA_VISIBLE_DEVICES": gpu} for gpu in gpus]
    return [{}]


def plan_slots(settings: Settings, apps: list[str] | None, prefix: str = "") -> list[Slot]:
    """Shared workers (one per core by default) for light engines; for engines that hold a
    large model, one worker per device, so each GPU holds one warm pipeline."""
    registry = Registry(settings)
    wanted = apps or list(registry.apps)
    exclusive = [
        a
        for a in wanted
        if registry.unavailable_reason(a) is None and registry.engine(a).capabilities().exclusive
    ]
    shared = [a for a in wanted if a not in exclusive]
    slots = [
        Slot(f"{prefix}worker-{i + 1}", shared, {}, one_core=True)
        for i in range(settings.worker_count if shared else 0)
    ]
    if exclusive:
        slots += [
            Slot(f"{prefix}device-{i + 1}", exclusive, env)
            for i, env in enumerate(device_slots(settings.diffusers.device))
        ]
    return slots


class WorkerPool:
    """Worker processes on this machine. Beside an API server (``serve``) they are woken by
    its doorbell and report back; on their own (``brushwork worker``) they poll the queue."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        apps: list[str] | None = None,
        standalone: bool = False,
    ):
        self.settings = settings
        self.store = store
        self.apps = apps
        self.queue = TaskQueue(settings.queue, apps=apps or list(Registry(settings).apps))
        self.ctx = mp.get_context("spawn")
        self.doorbell: Any = None if standalone else self.ctx.Semaphore(0)
        self.finished: Any = None if standalone else self.ctx.Queue(maxsize=10_000)
        self.prefix = f"{socket.gethostname()}-{os.getpid()}-" if standalone else ""
        self.slots: list[Slot] = []
        self.procs: list[BaseProcess] = []
        self._stop = threading.Event()

    def _spawn(self, slot: Slot) -> BaseProcess:
        proc = self.ctx.Process(
            target=worker_process,
            args=(
                self.settings.model_dump(mode="json"),
                self.doorbell,
                slot.name,
                os.getpid(),
                self.finished,
                slot.apps,
                slot.env,
                slot.one_core,
            ),
            daemon=True,
        )
        proc.start()
        return proc

    def start(self) -> None:
        self.slots = plan_slots(self.settings, self.apps, self.prefix)
        self.procs = [self._spawn(slot) for slot in self.slots]
        threading.Thread(target=self._supervise, daemon=True, name="worker-supervisor").start()

    def _supervise(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._replace_dead()
            except Exception:
                log.exception("worker supervision failed; trying again")

    def _replace_dead(self) -> None:
        for i, (slot, proc) in enumerate(zip(self.slots, self.procs, strict=True)):
            if not proc.is_alive() and not self._stop.is_set():
                log.warning("%s exited (code %s); restarting", slot.name, proc.exitcode)
                why = f"its worker process exited unexpectedly (code {proc.exitcode})"
                recover(self.store, self.queue, worker=slot.name, why=why)
                self.procs[i] = self._spawn(slot)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for proc in self.procs:
            proc.terminate()  # SIGTERM: the worker finishes its task and exits
        for proc in self.procs:
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()


def run_workers(settings: Settings, apps: list[str] | None, announce: Any = print) -> None:
    """``brushwork worker``: worker processes without an API, until SIGTERM (they drain)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = Store(settings.database)
    pool = WorkerPool(settings, store, apps=apps, standalone=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    pool.start()
    for slot in pool.slots:
        pinned = f" on GPU {slot.env['CUDA_VISIBLE_DEVICES']}" if slot.env else ""
        announce(f"{slot.name}{pinned} serving {', '.join(slot.apps)}")
    announce(f"{len(pool.slots)} worker(s); data in {settings.data_dir}")
    stop.wait()
    announce("stopping: each worker finishes its task first")
    pool.stop(timeout=settings.wait_timeout_seconds)


def serve(settings: Settings, announce: Any = print, workers: bool = True) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    one_math_thread()  # the API's parallelism is its request threads
    store = Store(settings.database)
    key = first_key(settings, store)
    if key:
        announce(f"Created your first API key (shown once, stored only as a hash):\n  {key}")
        announce("Use it as: export BRUSHWORK_API_KEY=" + key)
        owner = store.owner_of_key(key)
        assert owner is not None
        announce(f"Webhooks to this key's tasks are signed with: {store.webhook_secret(owner)}")
    pool = WorkerPool(settings, store)
    # this server's own pool workers are named worker-N / device-N (standalone ones carry host
    # and pid)
    requeued, failed = 0, 0
    for like in ("worker-%", "device-%"):
        again, lost = recover(store, pool.queue, worker_like=like, why="the server stopped")
        requeued, failed = requeued + again, failed + lost
    if requeued or failed:
        announce(f"tasks interrupted by the last stop: {requeued} re-queued, {failed} failed")
    for line in unavailable_summary(Registry(settings)):
        announce(line)
    if workers:
        pool.start()
    mode = "dev mode, no API key needed" if settings.dev else "API key required"
    count = f"{len(pool.slots)} worker(s)" if workers else "no workers (run brushwork worker)"
    announce(
        f"brushwork serving on http://{settings.host}:{settings.port} ({mode}); "
        f"{count}; data in {settings.data_dir}"
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; with this
    # handler in place that becomes SystemExit, so the workers are always stopped.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        app = create_app(settings, pool.doorbell, pool.finished)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        pool.stop()


def unavailable_summary(registry: Registry) -> list[str]:
    """One line per kind of reason the apps that cannot run here have, not one per app."""
    groups: dict[tuple[bool, str], list[str]] = {}
    for app_id in registry.apps:
        reason = registry.unavailable_reason(app_id)
        if reason is None:
            continue
        engine = registry.importable(app_id)
        gpu = engine is not None and engine.capabilities().exclusive
        groups.setdefault((gpu, _gist(reason)), []).append(app_id)
    lines = []
    for (gpu, gist), apps in groups.items():
        if len(apps) == 1:
            lines.append(f"app {apps[0]} is unavailable: {gist}")
        else:
            lines.append(f"{len(apps)} {'GPU ' if gpu else ''}apps are unavailable: {gist}")
    return lines


def _gist(reason: str) -> str:
    """A reason without the one app's details, so that apps with the same cause group."""
    if reason.startswith("no weights for"):
        return "they have no weights on this machine: `brushwork models list`"
    return reason


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
