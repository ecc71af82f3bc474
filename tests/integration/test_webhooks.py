"""Signed webhooks: delivered on terminal status, verified by the SDK helper, retried, recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from brushwork import WebhookVerificationError, verify_webhook
from brushwork.server import create_app
from brushwork.settings import Settings
from brushwork.signing import new_secret, sign
from brushwork.tasks.worker import Worker
from tests.conftest import PLUGINS


class Receiver:
    """A real HTTP endpoint on loopback that fails the first ``fail`` deliveries with 500."""

    def __init__(self, fail: int = 0, redirect: bool = False):
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.deliveries.append((dict(self.headers), body))
                if redirect:
                    self.send_response(307)
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                else:
                    self.send_response(500 if len(receiver.deliveries) <= receiver.fail else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooked(tmp_path) -> Iterator[tuple[TestClient, Worker, str]]:
    settings = Settings(
        data_dir=tmp_path, plugins=PLUGINS, allow_private_urls=True, webhook_retry_scale=0.001
    )
    app = create_app(settings)
    key = app.state.services.store.create_key("hooks")
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        yield (
            http,
            Worker(settings),
            app.state.services.store.webhook_secret(app.state.services.store.owner_of_key(key)),
        )


def run_with_hook(http: TestClient, worker: Worker, url: str, prompt: str = "x") -> str:
    task = http.post(
        "/apps/run",
        json={
            "app": "brushwork/studio",
            "webhook": url,
            "input": {"prompt": prompt, "quality": "low"},
        },
    ).json()
    while (task_id := worker.queue.try_take()) is not None:
        worker.run_task(task_id)
    return str(task["id"])


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_delivery_is_signed_retried_and_recorded(hooked) -> None:
    http, worker, secret = hooked
    receiver = Receiver(fail=2)
    try:
        task_id = run_with_hook(http, worker, receiver.url)
        wait_for(lambda: http.get(f"/tasks/{task_id}").json()["webhook_state"] == "delivered")
        task = http.get(f"/tasks/{task_id}").json()
        assert [a["status_code"] for a in task["webhook_attempts"]] == [500, 500, 200]
        assert len(receiver.deliveries) == 3
        headers, body = receiver.deliveries[-1]
        event = verify_webhook(body, headers, secret)
        assert event["id"] == task_id and event["status"] == 9
        assert set(event) == {
            "id",
            "status",
            "output",
            "error",
            "session_id",
            "created_at",
            "updated_at",
        }
        assert event["output"]["images"][0]["uri"].startswith("http")
        # the reference implementation agrees with ours
        assert Webhook(secret).verify(body, headers)["id"] == task_id
        ids = {h["webhook-id"] for h, _ in receiver.deliveries}
        assert len(ids) == 3
    finally:
        receiver.close()


def test_cancelled_tasks_are_delivered_too(hooked) -> None:
    http, _, secret = hooked
    receiver = Receiver()
    try:
        task = http.post(
            "/apps/run",
            json={"app": "brushwork/studio", "webhook": receiver.url, "input": {"prompt": "x"}},
        ).json()
        http.post(f"/tasks/{task['id']}/cancel")
        wait_for(lambda: len(receiver.deliveries) == 1)
        assert (
            verify_webhook(receiver.deliveries[0][1], receiver.deliveries[0][0], secret)["status"]
            == 11
        )
    finally:
        receiver.close()


def test_redirects_are_not_followed(hooked) -> None:
    http, worker, _ = hooked
    receiver = Receiver(redirect=True)
    try:
        task_id = run_with_hook(http, worker, receiver.url)
        wait_for(lambda: len(http.get(f"/tasks/{task_id}").json()["webhook_attempts"]) >= 2)
        attempts = http.get(f"/tasks/{task_id}").json()["webhook_attempts"]
        assert attempts[0]["status_code"] == 307 and attempts[0]["error"] == "HTTP 307"
    finally:
        receiver.close()


def test_private_targets_are_refused_unless_allowed(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path, dev=True))
    settings = app.state.services.settings
    with TestClient(app) as http:
        task = http.post(
            "/apps/run",
            json={
                "app": "brushwork/studio",
                "webhook": "http://127.0.0.1:9/x",
                "input": {"prompt": "x"},
            },
        ).json()
        http.post(f"/tasks/{task['id']}/cancel")
        wait_for(lambda: http.get(f"/tasks/{task['id']}").json()["webhook_attempts"])
        attempt = http.get(f"/tasks/{task['id']}").json()["webhook_attempts"][0]
        assert "non-public address" in attempt["error"] and attempt["status_code"] is None
    assert settings.allow_private_urls is False


def test_bad_webhook_urls_are_400(hooked) -> None:
    http, _, _ = hooked
    for url in ("ftp://example.com/x", "not a url", "x" * 3000):
        response = http.post(
            "/apps/run", json={"app": "brushwork/studio", "webhook": url, "input": {"prompt": "x"}}
        )
        assert response.status_code == 400 and response.json()["error"]["param"] == "webhook"


def test_verify_webhook_refuses_forgeries() -> None:
    secret = new_secret()
    body = json.dumps({"id": "t"}).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, "msg_1", now, body),
    }
    assert verify_webhook(body, headers, secret) == {"id": "t"}
    assert verify_webhook(
        body, {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}, secret
    )
    cases = [
        (body + b" ", headers, secret),
        (body, headers, new_secret()),
        (body, {**headers, "webhook-timestamp": str(now - 3600)}, secret),
        (body, {k: v for k, v in headers.items() if k != "webhook-id"}, secret),
    ]
    for payload, hdrs, key in cases:
        with pytest.raises(WebhookVerificationError):
            verify_webhook(payload, hdrs, key)


def test_redeliver_sends_the_event_again(hooked) -> None:
    http, worker, secret = hooked
    receiver = Receiver()
    try:
        task_id = run_with_hook(http, worker, receiver.url)
        wait_for(lambda: http.get(f"/tasks/{task_id}").json()["webhook_state"] == "delivered")
        again = http.post(f"/tasks/{task_id}/webhook/redeliver")
        assert again.status_code == 202
        wait_for(lambda: len(http.get(f"/tasks/{task_id}").json()["webhook_attempts"]) == 2)
        assert (
            verify_webhook(receiver.deliveries[1][1], receiver.deliveries[1][0], secret)["id"]
            == task_id
        )
        queued = http.post(
            "/apps/run", json={"app": "brushwork/studio", "input": {"prompt": "x"}}
        ).json()
        assert http.post(f"/tasks/{queued['id']}/webhook/redeliver").status_code == 409
    finally:
        receiver.close()
