"""Webhook delivery: the outbox written with each terminal status, sent signed, retried.

When a task with a webhook reaches 9, 10 or 11, the store marks its delivery
pending in the same transaction. A dispatcher thread in each API process
claims due deliveries, POSTs ``{id, status, output, error, session_id,
created_at, updated_at}`` signed per Standard Webhooks with the owner's
secret, never follows redirects, waits at most 15 s, records every attempt
on the task, and retries failures on the Standard Webhooks schedule.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from brushwork.contract import Task, WebhookPayload
from brushwork.errors import BrushworkError
from brushwork.files.fetch import Policy, open_pinned
from brushwork.signing import sign
from brushwork.tasks.store import Store

log = logging.getLogger("brushwork.webhooks")

# Standard Webhooks' schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_DELAYS = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
TIMEOUT_SECONDS = 15.0
LEASE_SECONDS = 60.0


def payload(row: dict[str, Any], files_base: str) -> bytes:
    """The signed body: a :class:`WebhookPayload` of the task as the API shows it."""
    task = Task.from_record(row, files_base).to_json()
    body = {k: task[k] for k in WebhookPayload.model_fields}
    return json.dumps(body, separators=(",", ":")).encode()


class Dispatcher:
    def __init__(
        self,
        store: Store,
        files_base: str,
        *,
        retry_scale: float = 1.0,
        policy: Policy | None = None,
        render: Callable[[dict[str, Any], str], bytes | None] | None = None,
    ):
        """``render(row, files_base)``: the body of a task that another root made, or None
        for the native :func:`payload`."""
        self.store = store
        self.files_base = files_base
        self.render = render
        self.retry_scale = retry_scale
        self.policy = policy or Policy()
        self._http = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float = 0.2) -> None:
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(TIMEOUT_SECONDS + 1)
        self._http.close()

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.exception("webhook dispatcher pass failed")
            self._stop.wait(interval)

    def deliver_due(self) -> int:
        rows = self.store.claim_webhooks(time.time(), LEASE_SECONDS)
        for row in rows:
            self.deliver(row)
        return len(rows)

    def deliver(self, row: dict[str, Any]) -> None:
        attempt_no = len(row["webhook_attempts"] or []) + 1
        other = self.render(row, self.files_base) if self.render is not None else None
        body = other if other is not None else payload(row, self.files_base)
        msg_id = f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "brushwork-webhooks",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                self.store.webhook_secret(row["owner"]), msg_id, timestamp, body
            ),
        }
        started = time.perf_counter()
        status_code, error = self._post(row["webhook"], body, headers)
        attempt = {
            "attempt": attempt_no,
            "webhook_id": msg_id,
            "at": timestamp,
            "status_code": status_code,
            "error": error,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if error is None:
            self.store.record_webhook(row["id"], attempt, "delivered", None)
        elif attempt_no >= len(RETRY_DELAYS):
            self.store.record_webhook(row["id"], attempt, "failed", None)
        else:
            delay = RETRY_DELAYS[attempt_no] * self.retry_scale
            self.store.record_webhook(row["id"], attempt, "pending", time.time() + delay)

    def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        try:
            with open_pinned(
                self._http,
                "POST",
                url,
                param="webhook",
                policy=self.policy,
                content=body,
                headers=headers,
            ) as response:
                status = response.status_code
        except BrushworkError as exc:
            return None, exc.message
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return status, None if 200 <= status < 300 else f"HTTP {status}"
