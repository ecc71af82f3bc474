"""The worker: takes one task at a time from the queue and carries it to a terminal status.

For each task: decode the stored inputs, build the engine ``Request``, run the
engine with a progress callback that stops it on cancel, apply the keep-pixels
composite, encode, store the files and write ``output_meta``. Statuses follow
SPEC §5: PREPARING → RUNNING → UPLOADING → COMPLETED (or FAILED / CANCELLED).
A worker process never serves HTTP; the API process never runs an engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue as stdlib_queue
import secrets
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue as MPQueue
from multiprocessing.synchronize import Semaphore
from typing import Any, cast

from PIL import Image

from brushwork.apps.registry import Registry
from brushwork.contract import (
    CONTENT_TYPES,
    AppInput,
    TaskStatus,
    output_meta,
    parse_input,
    parse_mask_input,
)
from brushwork.cpu import one_math_thread
from brushwork.engines.base import Engine, Request, TaskCancelled
from brushwork.engines.masks import MaskEngine
from brushwork.errors import BrushworkError, EngineFailed, InvalidInput
from brushwork.files.faults import is_storage_full, storage_full
from brushwork.files.store import open_files
from brushwork.imaging import codecs, masks, selection
from brushwork.imaging.composite import keep_composite
from brushwork.imaging.limits import MAX_MASK_BYTES
from brushwork.settings import Settings
from brushwork.tasks.queue import TaskQueue
from brushwork.tasks.recovery import expire
from brushwork.tasks.store import Store

log = logging.getLogger("brushwork.worker")

PROGRESS_START, PROGRESS_END = 5, 95  # engine progress maps into this band of 0..100
EXIT_STUCK_ENGINE = 75  # the exit code of a worker that ended itself to stop a stuck engine
CANCEL_CHECK_SECONDS = 0.1
# Progress and log lines are written at most this often (a preview at once): a studio picture
# that takes 60 ms reported four stages, four more store transactions and events per task
# than its status changes; its lines now go with the next status change (UPLOADING).
PROGRESS_EVERY_SECONDS = 0.25


class TaskProgress:
    """The engine's progress callback: writes progress, logs and previews; raises when cancelled.

    ``save_preview`` stores a partial render and returns its file reference; at most
    ``previews`` of them are kept, the rest are dropped. Progress and log lines are coalesced
    (``PROGRESS_EVERY_SECONDS``); what is held is in :meth:`pending` for the next write.
    """

    def __init__(
        self,
        store: Store,
        task_id: str,
        previews: int = 0,
        save_preview: Callable[[Image.Image, int], dict[str, Any]] | None = None,
    ):
        self.store = store
        self.task_id = task_id
        self.previews_left = previews
        self.save_preview = save_preview
        self._sent = 0
        self._last_pct = -1
        self._last_check = 0.0
        self._cancelled = False
        self._written = time.monotonic()
        self._held_pct: int | None = None
        self._held_lines: list[str] = []

    def cancelled(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._last_check >= CANCEL_CHECK_SECONDS:
            self._last_check = now
            self._cancelled = self.store.status_of(self.task_id) == TaskStatus.CANCELLED
        return self._cancelled

    def __call__(
        self, fraction: float, message: str | None = None, preview: Image.Image | None = None
    ) -> None:
        if self.cancelled():
            raise TaskCancelled
        pct = PROGRESS_START + round((PROGRESS_END - PROGRESS_START) * min(max(fraction, 0), 1))
        ref = None
        if preview is not None and self.previews_left > 0 and self.save_preview is not None:
            ref = {**self.save_preview(preview, self._sent), "partial_image_index": self._sent}
            self.previews_left -= 1
            self._sent += 1
        if pct != self._last_pct or message or ref:
            self._last_pct = pct
            self._held_pct = pct
            if message:
                self._held_lines.append(f"{message}\n")
            if ref is not None or time.monotonic() - self._written >= PROGRESS_EVERY_SECONDS:
                self.flush(preview=ref)

    def pending(self) -> str | None:
        """The log lines held back, now taken (they go with the caller's next write)."""
        lines, self._held_lines, self._held_pct = self._held_lines, [], None
        return "".join(lines) or None

    def flush(self, preview: dict[str, Any] | None = None) -> None:
        """Write what is held (and ``preview``) now; raises when the task was cancelled."""
        pct = self._held_pct
        line = self.pending()
        self._written = time.monotonic()
        if pct is None and line is None and preview is None:
            return
        if not self.store.update(self.task_id, progress=pct, log=line, preview=preview):
            raise TaskCancelled


class Worker:
    def __init__(
        self,
        settings: Settings,
        doorbell: Semaphore | None = None,
        name: str = "w1",
        finished: MPQueue[Any] | None = None,
        apps: list[str] | None = None,
    ):
        self.settings = settings
        self.name = name
        self.finished = finished
        self.store = Store(settings.database)
        self.files = open_files(
            settings.files_url, settings.files_dir, self.store, settings.max_bytes_per_key
        )
        self.registry = Registry(settings)
        self.apps = apps or list(self.registry.apps)
        self.queue = TaskQueue(settings.queue, doorbell, apps=self.apps)
        if self.queue.redis is not None:  # API servers on other machines hear of every change
            self.store.on_change = self.queue.publish_change
        self._loaded: set[str] = set()
        self._unrecorded: list[str] = []  # taken while the store was full (see _loop)
        self._claimed: str | None = None  # the task this worker last claimed (see _take_one)
        self.stopping = False

    def serve_forever(self, parent_pid: int | None = None) -> None:
        """Run tasks until SIGTERM/SIGINT, or until the parent process is gone (no orphans)."""
        signal.signal(signal.SIGTERM, self._drain)
        signal.signal(signal.SIGINT, self._drain)
        try:
            self._loop(parent_pid)
        finally:
            with contextlib.suppress(Exception):  # a full disk must not turn an exit into a crash
                self.store.worker_gone(self.name)

    def _loop(self, parent_pid: int | None) -> None:
        seen, full = 0.0, 0
        while not self.stopping:
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the server process is gone; worker %s exits", self.name)
                return
            try:
                if time.monotonic() - seen >= self.settings.heartbeat_seconds:
                    seen = time.monotonic()
                    self.store.worker_seen(self.name, os.getpid(), self.apps)
                self._record_unrecorded()
                self._take_one()
                full = 0
            except Exception as exc:
                if not is_storage_full(exc):
                    raise
                # a full disk is no reason to exit (a restart would find it as full): back
                # off, keep serving the tasks that fit, and say so once per episode
                full += 1
                if full == 1:
                    log.warning("%s: storage is full (%s); backing off", self.name, exc)
                time.sleep(min(5.0, 0.25 * 2**full))

    def _take_one(self) -> None:
        task_id = self.queue.take(self.settings.queue_poll_seconds)
        if task_id is None:
            return
        self._claimed = None
        try:
            self.run_task(task_id)
        except Exception as exc:
            if is_storage_full(exc):  # not even its failure could be written: later
                self._unrecorded.append(task_id)
            elif self._claimed != task_id:
                self._put_back(task_id)
            raise
        self._finished(task_id)

    def _put_back(self, task_id: str) -> None:
        """A task taken off the queue but not claimed (reading it failed: the database did not
        answer) goes back on the queue, so that this worker's successor or another one runs
        it; once claimed, a task this worker loses is recovered from the store instead."""
        try:
            self.queue.put_back(task_id)
        except Exception:
            log.exception("task %s could not go back on the queue; it expires", task_id)

    def _record_unrecorded(self) -> None:
        """Tasks taken while the store could not be written end FAILED storage_full once it
        can be: off the queue, they would otherwise wait for the expiry."""
        while self._unrecorded:
            task_id = self._unrecorded[0]
            task = self.store.get_task(task_id)
            ours = task is not None and (
                task["status"] in (TaskStatus.RECEIVED, TaskStatus.QUEUED)
                or task["worker"] == self.name  # not re-queued to another worker meanwhile
            )
            if ours:
                self.store.fail(task_id, storage_full("the task's data"))
            self._unrecorded.pop(0)
            self._finished(task_id)

    def _finished(self, task_id: str) -> None:
        if self.finished is not None:  # wake whoever waits on it in the API
            with contextlib.suppress(stdlib_queue.Full):
                self.finished.put_nowait(task_id)

    def _drain(self, *_: object) -> None:
        self.stopping = True  # finish the current task, take no new one

    def run_task(self, task_id: str) -> None:
        task = self.store.get_task(task_id)
        if task is None or TaskStatus(task["status"]).is_terminal():
            return
        if time.time() - task["created_at"] > self.settings.queue_expiry_seconds:
            expire(self.store, self.settings.queue_expiry_seconds)  # too late to be useful
            return
        in_session = bool((task.get("options") or {}).get("session"))
        if in_session and (self.store.waits_behind(task) or self._warm_elsewhere(task)):
            self._defer(task)  # a session's calls run one at a time, in order
            return
        beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(task_id, beating), daemon=True)
        beat.start()
        try:
            self._run_claimed(task_id, task)
        finally:
            beating.set()
            beat.join()
            if in_session:
                self._session_call_ended(task)

    def _warm_elsewhere(self, task: dict[str, Any]) -> bool:
        """Whether another live worker ran the session's last call and the call is young
        enough to wait for it (its warm state is reused); after the affinity window, or when
        that worker is gone, any worker takes it."""
        if time.time() - task["created_at"] > self.settings.session_affinity_seconds:
            return False
        session = self.store.get_session(task["session_id"])
        warm = session["worker"] if session else None
        if warm is None or warm == self.name:
            return False
        seen_after = time.time() - self.settings.stale_after_seconds
        return self.store.worker_serves(warm, task["app"], seen_after)

    def _defer(self, task: dict[str, Any]) -> None:
        """Back to the end of the queue until the session's earlier calls have ended (a short
        pause first, so an idle worker does not spin on it)."""
        time.sleep(min(0.2, self.settings.queue_poll_seconds))
        self.queue.enqueue(task["id"], task["app"], turn=task.get("turn") or 0)

    def _session_call_ended(self, task: dict[str, Any]) -> None:
        status = self.store.status_of(task["id"])
        if status is None or not status.is_terminal():
            return  # re-queued after a lost worker, or still held: not over yet
        self.store.session_call_ended(task["session_id"], self.name)

    def _heartbeat(self, task_id: str, done: threading.Event) -> None:
        """Say we are alive while the task runs, so a reaper never takes it from a live worker;
        and, as the backstop of cancellation, end this process when a cancelled engine does not
        stop within the grace period (the pool starts a fresh worker)."""
        cancelled_at: float | None = None
        while not done.wait(self.settings.heartbeat_seconds):
            try:
                self.store.heartbeat(task_id, self.name)
                if cancelled_at is None and self.store.status_of(task_id) == TaskStatus.CANCELLED:
                    cancelled_at = time.monotonic()
            except Exception:
                log.exception("heartbeat for task %s failed", task_id)
            if (
                cancelled_at is not None
                and time.monotonic() - cancelled_at > self.settings.cancel_grace_seconds
            ):
                log.error(
                    "task %s: the engine ignored its cancellation; ending %s", task_id, self.name
                )
                self.store.worker_gone(self.name)
                os._exit(EXIT_STUCK_ENGINE)

    def _run_claimed(self, task_id: str, task: dict[str, Any]) -> None:
        claimed = self.store.update(
            task_id,
            status=TaskStatus.PREPARING,
            log=f"picked up by {self.name} (pid {os.getpid()})\n",
            worker=self.name,
            expect=(TaskStatus.RECEIVED, TaskStatus.QUEUED),  # an id queued twice runs once
        )
        self._claimed = task_id
        if not claimed:
            return
        try:
            self._execute(task)
        except TaskCancelled:
            log.info("task %s cancelled while running", task_id)
        except BrushworkError as exc:
            self.store.fail(task_id, exc)
        except Exception as exc:
            if is_storage_full(exc):  # ENOSPC from an engine's own files, or the store
                self.store.fail(task_id, storage_full("the task's output"))
                return
            log.error("task %s: engine failure\n%s", task_id, traceback.format_exc())
            self.store.fail(
                task_id, EngineFailed(f"the engine failed: {type(exc).__name__}: {exc}")
            )

    def _execute(self, task: dict[str, Any]) -> None:
        task_id = task["id"]
        if self.registry.spec(task["app"]).kind == "masks":
            self._select(task)
            return
        if (task.get("options") or {}).get("chain"):
            task = self._edit_latest(task)
        inp = parse_input(task["input"])
        spec = self.registry.spec(task["app"])
        engine = self._engine(task["app"])
        request, sources = self._request(task, inp)
        request.previews = int((task.get("options") or {}).get("previews", 0))

        def save_preview(image: Image.Image, k: int) -> dict[str, Any]:
            if request.mask is not None and image.size == request.size:
                image = keep_composite(request.images[0], image, request.mask)
            return self._save(task, inp, image, k, stem="preview")

        progress = TaskProgress(self.store, task_id, request.previews, save_preview)
        if not self.store.update(
            task_id,
            status=TaskStatus.RUNNING,
            progress=PROGRESS_START,
            log=f"{request.mode} {request.width}x{request.height} n={request.n} "
            f"quality={request.quality} seed={request.seed}\n",
        ):
            raise TaskCancelled  # cancelled while its inputs were being prepared
        started, cpu = time.perf_counter(), time.process_time()
        try:
            images = engine.run(request, progress, progress.cancelled)
        except Exception:
            with contextlib.suppress(Exception):
                progress.flush()  # what it said before it failed stays in the logs
            raise
        engine_s, engine_cpu = time.perf_counter() - started, time.process_time() - cpu
        self._check_engine_output(images, request)
        if request.mode == "inpaint":
            assert request.mask is not None
            images = [keep_composite(request.images[0], im, request.mask) for im in images]
        said = progress.pending()  # the engine's held lines go with this write
        if not self.store.update(
            task_id, status=TaskStatus.UPLOADING, progress=PROGRESS_END, log=said
        ):
            raise TaskCancelled
        started, cpu = time.perf_counter(), time.process_time()
        credit = "; ".join(request.meta.get("attributions") or []) or None
        refs = [self._save(task, inp, image, i, credit=credit) for i, image in enumerate(images)]
        encode_s, encode_cpu = time.perf_counter() - started, time.process_time() - cpu
        meta = output_meta(
            prompt=inp.prompt,
            input_sizes=sources,
            width=request.width,
            height=request.height,
            n=request.n,
            mode=request.mode,
            quality=request.quality,
            engine=engine.name,
            priced=spec.priced,
        )
        meta.update(request.meta)
        meta["seed"] = request.seed
        meta["timings"] = {  # wall seconds, and the worker process's CPU seconds in them
            "engine_s": round(engine_s, 4),
            "encode_s": round(encode_s, 4),
            "engine_cpu_s": round(engine_cpu, 4),
            "encode_cpu_s": round(encode_cpu, 4),
        }
        self.store.update(
            task_id,
            status=TaskStatus.COMPLETED,
            progress=100,
            timings=(engine_s, encode_s),
            output={"images": refs, "output_meta": meta},
            log=f"completed: engine {engine_s * 1000:.0f} ms, encode {encode_s * 1000:.0f} ms\n",
        )

    def _select(self, task: dict[str, Any]) -> None:
        """A ``brushwork/masks`` task (SPEC §10): the selection as a mask, as OpenAI's alpha
        mask and as a tinted preview, with its box and area."""
        task_id = task["id"]
        inp = parse_mask_input(task["input"])
        engine = cast(MaskEngine, self._engine(task["app"]))
        image = codecs.decode(self.files.read(task["files"]["images"][0]), param="image").image
        if not self.store.update(
            task_id,
            status=TaskStatus.RUNNING,
            progress=PROGRESS_START,
            log=f"select {inp.mode} in {image.width}x{image.height}\n",
        ):
            raise TaskCancelled
        started = time.perf_counter()
        found, made_by = engine.select(image, inp)
        engine_s = time.perf_counter() - started
        if not self.store.update(task_id, status=TaskStatus.UPLOADING, progress=PROGRESS_END):
            raise TaskCancelled
        started = time.perf_counter()
        stem = task["id"][:12]
        outputs = {
            "mask": Image.fromarray(found, "L"),
            "alpha_mask": selection.alpha_mask(found),
            "preview": selection.preview(image, found),
        }
        refs = {
            key: self._put(task, codecs.encode(picture, "png"), f"{stem}-{key}.png", "png")
            for key, picture in outputs.items()
        }
        encode_s = time.perf_counter() - started
        box, area = selection.extent(found)
        meta = {
            "engine": made_by,
            "mode": inp.mode,
            "width": image.width,
            "height": image.height,
            "timings": {"engine_s": round(engine_s, 4), "encode_s": round(encode_s, 4)},
        }
        self.store.update(
            task_id,
            status=TaskStatus.COMPLETED,
            progress=100,
            timings=(engine_s, encode_s),
            output={**refs, "box": box, "area": area, "output_meta": meta},
            log=f"completed: {area:.1%} selected, select {engine_s * 1000:.0f} ms, "
            f"encode {encode_s * 1000:.0f} ms\n",
        )

    def _edit_latest(self, task: dict[str, Any]) -> dict[str, Any]:
        """A session call without images edits the first image of the session's last call
        that completed before it (SPEC §8); with none, it draws a new picture."""
        latest = self.store.latest_output(task["session_id"], before_seq=task["seq"])
        if latest is None:
            if task["files"].get("mask"):
                raise InvalidInput(
                    "this session has no picture to edit yet (no earlier call completed): "
                    "send images with the mask",
                    param="mask",
                )
            return task
        parent, ref = latest
        file_id = str(ref["uri"]).rsplit("/", 1)[-1]
        self.store.update(task["id"], log=f"edits the output of {parent}\n")
        return {
            **task,
            "input": {**task["input"], "images": [ref["uri"]]},
            "files": {**task["files"], "images": [file_id]},
        }

    def _engine(self, app_id: str) -> Engine:
        engine = self.registry.engine(app_id)
        if app_id not in self._loaded:
            engine.load()
            self._loaded.add(app_id)
        return engine

    def _request(
        self, task: dict[str, Any], inp: AppInput
    ) -> tuple[Request, list[tuple[int, int]]]:
        file_ids = task["files"]
        images = [
            codecs.decode(self.files.read(fid), label=f"images[{i}]").image
            for i, fid in enumerate(file_ids.get("images", []))
        ]
        sources = [im.size for im in images]
        size, _ = inp.resolve_size(sources[0] if sources else None)  # the API logged why
        edit = None
        if file_ids.get("mask"):
            mask = codecs.decode(
                self.files.read(file_ids["mask"]), param="mask", limit=MAX_MASK_BYTES
            )
            masks.check_mask_size(mask.size, images[0].size)
            edit = masks.resize_edit_map(masks.edit_map(mask.image), size)
            if images[0].size != size:
                images[0] = images[0].resize(size, Image.Resampling.LANCZOS)
        seed = inp.seed if inp.seed is not None else secrets.randbits(32)
        request = Request(
            mode=inp.mode,
            prompt=inp.prompt.strip(),
            width=size[0],
            height=size[1],
            n=inp.n,
            quality=inp.resolved_quality,
            seed=seed,
            output_format=inp.output_format,
            output_compression=inp.output_compression,
            moderation=inp.moderation,
            background=inp.resolved_background,
            images=images,
            mask=edit,
        )
        return request, sources

    @staticmethod
    def _check_engine_output(images: list[Image.Image], request: Request) -> None:
        if len(images) != request.n:
            raise EngineFailed(f"the engine returned {len(images)} images, expected {request.n}")
        for image in images:
            if image.size != request.size:
                raise EngineFailed(
                    f"the engine returned {image.size[0]}x{image.size[1]}, "
                    f"expected {request.width}x{request.height}"
                )

    def _save(
        self,
        task: dict[str, Any],
        inp: AppInput,
        image: Image.Image,
        i: int,
        stem: str = "",
        credit: str | None = None,
    ) -> dict[str, Any]:
        fmt = inp.output_format
        data = codecs.encode(image, fmt, inp.output_compression, credit)
        name = f"{task['id'][:12]}-{stem}{i}.{'jpg' if fmt == 'jpeg' else fmt}"
        return self._put(task, data, name, fmt)

    def _put(self, task: dict[str, Any], data: bytes, name: str, fmt: str) -> dict[str, Any]:
        """Store an output file of the task's owner; its reference as outputs list it."""
        record = self.files.put(
            data, owner=task["owner"], filename=name, content_type=CONTENT_TYPES[fmt]
        )
        return {
            "uri": f"/files/{record.id}",
            "filename": record.filename,
            "content_type": record.content_type,
            "size": record.size,
        }


def worker_process(
    settings_data: dict[str, Any],
    doorbell: Semaphore | None,
    name: str,
    parent_pid: int,
    finished: MPQueue[Any] | None = None,
    apps: list[str] | None = None,
    env: dict[str, str] | None = None,
    one_core: bool = False,
) -> None:
    """Entry point of a worker process started by ``brushwork serve`` (pid ``parent_pid``).

    ``env`` is set before any engine loads (e.g. ``CUDA_VISIBLE_DEVICES`` pins a GPU);
    ``one_core``: a shared worker, one of one per core, whose libraries take one thread."""
    os.environ.update(env or {})
    if one_core:
        one_math_thread()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    worker = Worker(Settings(**settings_data), doorbell, name, finished, apps)
    worker.serve_forever(parent_pid=parent_pid)
