"""Submitting a task and following it: shared by ``/apps/run``, the task stream and the
OpenAI endpoints.

``submit`` runs every check a request must pass before a task exists (app
available, input rules, moderation, file references) and then records and
queues the task; ``wait_until_done`` waits for its end and ``follow_task`` yields
each of its events, both without blocking the event loop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from brushwork.apps import moderation
from brushwork.contract import AppInput, TaskStatus, parse_input, parse_mask_input
from brushwork.errors import InvalidInput, RateLimited, ServiceUnavailable
from brushwork.files.faults import is_storage_full, storage_full
from brushwork.imaging import codecs, selection
from brushwork.server import inputs, sessions
from brushwork.server.services import Services, poll_interval
from brushwork.tasks.events import FALLBACK_SECONDS, woken

HEARTBEAT_SECONDS = 15.0


def check_webhook_url(url: str) -> None:
    if not url.startswith(("http://", "https://")) or len(url) > 2048:
        raise InvalidInput(
            "webhook must be an http(s) URL of at most 2048 characters", param="webhook"
        )


def check_room(svc: Services, app: str, who: str) -> int:
    """Back-pressure: refuse (429) when an app's queue or a key's share of it is full. Returns
    the turn a new task of this key takes in this app's queue (tasks/queue.py)."""
    waiting = svc.store.waiting_counts(app, who)
    limits = (
        ("app", waiting.for_app, svc.settings.max_queued_per_app),
        ("key", waiting.for_owner, svc.settings.max_queued_per_key),
    )
    for kind, count, limit in limits:
        if count >= limit:
            raise RateLimited(
                f"too many tasks are waiting for this {kind} ({count}, the limit is {limit}); "
                "retry when some have finished",
                retry_after=5.0,
                code="queue_full",
            )
    return waiting.turn


def submit(
    svc: Services,
    who: str,
    files_base: str,
    *,
    app: str,
    raw_input: AppInput | dict[str, Any],
    webhook: str | None = None,
    session_id: str | None = None,
    options: dict[str, Any] | None = None,
    session: Any = None,
    session_timeout: Any = None,
) -> dict[str, Any]:
    """Validate everything, then record and queue the task (status 2). Blocking: run in a thread.

    ``session`` (``"new"`` or an id, SPEC §8) puts the call in a session; a call there whose
    input has no ``images`` edits the session's latest output (resolved when it runs).
    ``session_id`` alone is a label (OpenAI's ``user``), not a session."""
    svc.limiter.take(who)
    app = svc.settings.app_aliases.get(app, app)
    spec = svc.registry.require_available(app)
    turn = check_room(svc, app, who)
    svc.require_room("a new task")
    if spec.kind == "masks":
        if session is not None or session_timeout is not None:
            raise InvalidInput(
                f"sessions are for the picture apps; {app} answers each call on its own",
                param="session" if session is not None else "session_timeout",
            )
        if webhook is not None:
            check_webhook_url(webhook)  # before the input's picture is stored
        resolved = _selection(svc, who, files_base, app, raw_input)
        return _record(svc, who, app, resolved, turn, webhook=webhook, options=options)
    call = sessions.for_call(svc, who, app, session, session_timeout)
    if call is not None and isinstance(raw_input, dict) and not raw_input:
        return _open_session(svc, who, app, call, webhook, options)
    chained = call is not None and not _names_images(raw_input)
    inp = raw_input if isinstance(raw_input, AppInput) else parse_input(raw_input, chained=chained)
    follows = chained and call is not None and call.parent_id is not None
    if chained and not follows and inp.mask is not None:
        raise InvalidInput(
            "mask needs a picture: this session has none yet, so send images with it",
            param="mask",
        )
    check_capabilities(svc, app, inp, edits_latest=follows)
    moderation.check(inp.prompt, inp.moderation, svc.settings.moderation_embeddings)
    if webhook is not None:
        check_webhook_url(webhook)  # before the input's files are stored
    resolved = inputs.resolve(inp, who, svc, files_base, chained=chained)
    options = dict(options or {})
    parent_id = None
    if call is not None:
        options |= {"session": True, "chain": chained}
        parent_id = call.parent_id
        session_id = sessions.start(svc, who, app, call)
    return _record(
        svc, who, app, resolved, turn, webhook=webhook, options=options, session_id=session_id,
        parent_id=parent_id,
    )  # fmt: skip


def _selection(
    svc: Services, who: str, files_base: str, app: str, raw_input: AppInput | dict[str, Any]
) -> inputs.Resolved:
    """A ``brushwork/masks`` input (SPEC §10), its picture loaded and every coordinate
    checked against it before anything is stored."""
    if isinstance(raw_input, AppInput):
        raise InvalidInput("input must be a masks input (SPEC §10)", param="input")
    inp = parse_mask_input(raw_input)
    data, existing = inputs.load(inp.image, who, svc, files_base, param="image", label="image")
    decoded = codecs.decode(data, param="image", label="image")
    width, height = decoded.size
    engine = svc.registry.engine(app)
    words = bool(getattr(engine, "understands_text", lambda: False)())
    selection.check(inp.mode, width, height, points=inp.points, labels=inp.labels, box=inp.box,
                    text=inp.text, words=words)  # fmt: skip
    created = []
    if existing is None:
        existing = inputs.store_bytes(data, decoded.format, who, svc, "image")
        created.append(existing)
    record = inp.model_dump(exclude_none=True) | {
        "image": f"{files_base.rstrip('/')}/files/{existing}"
    }
    return inputs.Resolved(record, {"images": [existing], "mask": None}, "", created)


def _record(
    svc: Services,
    who: str,
    app: str,
    resolved: inputs.Resolved,
    turn: int,
    *,
    webhook: str | None,
    options: dict[str, Any] | None,
    session_id: str | None = None,
    parent_id: str | None = None,
) -> dict[str, Any]:
    """Record the task and queue it in its ``turn`` (:func:`check_room`); a task that cannot
    be recorded leaves no files behind, and one the queue refuses fails at once rather than
    wait forever."""
    try:
        task = svc.store.create_task(
            owner=who,
            app=app,
            input=resolved.input,
            file_ids=resolved.file_ids,
            session_id=session_id,
            parent_id=parent_id,
            webhook=webhook,
            log=resolved.log,
            options=dict(options or {}),
            queued=True,
            turn=turn,
        )
    except Exception:
        inputs.discard(svc, resolved.created)  # no task: nothing of it stays
        raise
    try:
        svc.queue.enqueue(task["id"], app, turn=turn)
    except Exception as exc:  # a task that never reaches a worker must not wait forever
        with contextlib.suppress(Exception):
            svc.store.fail(task["id"], storage_full("the queue") if is_storage_full(exc) else
                           ServiceUnavailable("the queue refused the task"))  # fmt: skip
        raise
    return task


def _open_session(
    svc: Services,
    who: str,
    app: str,
    call: sessions.CallSession,
    webhook: str | None,
    options: dict[str, Any] | None,
) -> dict[str, Any]:
    """A session call with an empty input (how the platform's SDKs open a session) is a call
    that asks for nothing: it completes at once, draws nothing and leaves the chain as it was."""
    if webhook is not None:
        check_webhook_url(webhook)
    session_id = sessions.start(svc, who, app, call)
    task = svc.store.create_task(
        owner=who,
        app=app,
        input={},
        file_ids={"images": [], "mask": None},
        session_id=session_id,
        parent_id=call.parent_id,
        webhook=webhook,
        log="an empty call: the session is open, nothing was drawn\n",
        options=dict(options or {}) | {"session": True, "chain": False},
    )
    svc.store.update(task["id"], status=TaskStatus.COMPLETED, progress=100)
    found = svc.store.get_task(task["id"])
    assert found is not None
    return found


async def start(svc: Services, who: str, files_base: str, **call: Any) -> dict[str, Any]:
    """:func:`submit` off the event loop (it reads the store and may fetch URLs)."""
    return await run_in_threadpool(partial(submit, svc, who, files_base, **call))


MODE_PARAM = {"generate": "images", "edit": "images", "inpaint": "mask"}


def _names_images(raw: AppInput | dict[str, Any]) -> bool:
    """Whether the input says which images to use (even ``[]``): SPEC §8's edit chain is for
    a call that does not."""
    if isinstance(raw, AppInput):
        return "images" in raw.model_fields_set
    return not isinstance(raw, dict) or "images" in raw


def check_capabilities(
    svc: Services, app: str, inp: AppInput, *, edits_latest: bool = False
) -> None:
    """Refuse a mode the app does not do, or more reference images than it takes.
    ``edits_latest``: a session call that will edit the session's latest output."""
    caps = svc.registry.engine(app).capabilities()
    mode = inp.mode
    if edits_latest:
        mode = "inpaint" if inp.mask is not None else "edit"
    if mode not in caps.modes:
        does = ", ".join(sorted(caps.modes))
        raise InvalidInput(
            f"app {app!r} does not do {mode} (it does: {does})",
            param=MODE_PARAM[mode],
            code="unsupported_mode",
        )
    if inp.resolved_background == "transparent" and mode not in caps.transparent:
        where = (f"only in {', '.join(sorted(caps.transparent))}" if caps.transparent
                 else "in no mode")  # fmt: skip
        raise InvalidInput(
            f"app {app!r} cannot make a real transparent background for {mode} (it can "
            f"{where}); ask for background opaque",
            param="background",
            code="unsupported_background",
        )
    limit = caps.max_images
    if mode == "inpaint" and caps.inpaint_images is not None:
        limit = caps.inpaint_images
    if len(inp.images) > limit:
        what = "image(s) to inpaint (the picture, then references)" if mode == "inpaint" else (
            "reference image(s)")  # fmt: skip
        raise InvalidInput(
            f"app {app!r} takes at most {limit} {what} in {mode}, got {len(inp.images)}",
            param="images",
        )


async def wait_until_done(svc: Services, task_id: str, request: Request) -> dict[str, Any]:
    """The task row once terminal, or as it is when the wait times out or the client leaves.

    Woken by the worker's notice that the task ended (``TaskEvents``), not by polling nor by
    the changes before the end; a wake reads the status alone, and the row is read once, to
    answer.
    """
    deadline = time.monotonic() + svc.settings.wait_timeout_seconds
    with svc.events.watch(task_id, ends_only=True) as ended:
        while True:
            status = await run_in_threadpool(svc.store.status_of, task_id)
            if (
                status is None
                or status.is_terminal()
                or time.monotonic() > deadline
                or await request.is_disconnected()
            ):
                row = await run_in_threadpool(svc.store.get_task, task_id)
                assert row is not None
                return row
            remaining = deadline - time.monotonic()
            await woken(ended, min(FALLBACK_SECONDS, max(0.0, remaining)))


async def as_answered(svc: Services, request: Request, task_id: str, wait: bool) -> dict[str, Any]:
    """The task's row for the run answer: finished (or as far as the wait got) with
    ``wait``, else as it is now."""
    if wait:
        return await wait_until_done(svc, task_id, request)
    row = await run_in_threadpool(svc.store.get_task, task_id)
    assert row is not None
    return row


@dataclass(frozen=True)
class Update:
    """An event of the task's log, in order; ``seq`` is its stream id (replay after it)."""

    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Ended:
    """The task is terminal and every event was yielded: its final row."""

    row: dict[str, Any]


@dataclass(frozen=True)
class Quiet:
    """Nothing happened for ``HEARTBEAT_SECONDS``: a stream sends a keep-alive."""


async def follow_task(
    svc: Services, request: Request, task_id: str, after: int = 0
) -> AsyncIterator[Update | Ended | Quiet]:
    """Every event of a task after ``after``, then :class:`Ended`; stops early when the client
    leaves. Woken by change notices, else it reads the store (5 ms at first, then 50 ms)."""
    started = last_beat = time.monotonic()
    with svc.events.watch(task_id) as changed:
        while True:
            for seq, payload in await run_in_threadpool(svc.store.events_after, task_id, after):
                after = seq
                yield Update(seq, payload)
            status = await run_in_threadpool(svc.store.status_of, task_id)
            if status is not None and status.is_terminal():
                if not await run_in_threadpool(svc.store.events_after, task_id, after):
                    row = await run_in_threadpool(svc.store.get_task, task_id)
                    assert row is not None
                    yield Ended(row)
                    return
                continue  # the end was written after the read above: send its events first
            if await request.is_disconnected():
                return
            now = time.monotonic()
            if now - last_beat > HEARTBEAT_SECONDS:
                last_beat = now
                yield Quiet()
            await woken(changed, poll_interval(now - started))
