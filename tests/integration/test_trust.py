"""Trust boundaries: SSRF guard, key isolation, signed links, rate limits, revocation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from brushwork.files import fetch
from brushwork.server import create_app
from brushwork.settings import Settings
from brushwork.tasks.worker import Worker
from tests.conftest import PLUGINS, Api
from tests.helpers import png

BLOCKED = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::7f00:1",
    "64:ff9b::808:808",
    "2002:7f00:1::1",
    "2001:0:4136:e378::1",
    "fd00:ec2::254",
    "fe80::1",
    "ff02::1",
    "::",
    "2001:db8::1",
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_ranges(address: str) -> None:
    assert not fetch.is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert fetch.is_public(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://[::1]/x.png",
        "http://10.0.0.1/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0:8420/x",
    ],
)
def test_url_inputs_to_private_addresses_are_refused(api: Api, url: str) -> None:
    response = api.run({"prompt": "x", "images": [url]})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "images" and "non-public address" in error["message"]


@pytest.mark.parametrize("address", BLOCKED)
def test_a_name_that_resolves_to_a_private_address_is_refused(
    api: Api, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "getaddrinfo", lambda host, port: [address])  # a stub resolver
    response = api.run({"prompt": "x", "images": ["https://innocent.example/cat.png"]})
    assert (
        response.status_code == 400 and "non-public address" in response.json()["error"]["message"]
    )


def test_one_private_answer_among_public_ones_is_enough_to_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "getaddrinfo", lambda host, port: ["8.8.8.8", "10.0.0.5"])
    with pytest.raises(Exception, match="10.0.0.5"):
        fetch.resolve("https://mixed.example/a.png", param="images", policy=fetch.Policy())


def test_the_connection_is_pinned_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "getaddrinfo", lambda host, port: ["93.184.216.34"])
    target = fetch.resolve(
        "https://photos.example:8443/a.png?x=1", param="images", policy=fetch.Policy()
    )
    assert target.url == "https://93.184.216.34:8443/a.png?x=1"
    assert target.headers == {"Host": "photos.example:8443"}
    assert target.extensions == {"sni_hostname": "photos.example"}
    v6 = fetch.resolve("http://six.example/a", param="p", policy=fetch.Policy())
    assert v6.url == "http://93.184.216.34/a" and v6.extensions == {}


def test_non_http_schemes_are_refused(api: Api) -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/"):
        response = api.run({"prompt": "x", "images": [url]})
        assert response.status_code == 400


class Site:
    """A local web server: /image.png serves a PNG, /hop redirects to a private address."""

    def __init__(self) -> None:
        image = png(1024, 768)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/hop":
                    self.send_response(302)
                    self.send_header("Location", "http://10.0.0.1/secret.png")
                    self.end_headers()
                    return
                body, kind = (
                    (image, "image/png")
                    if self.path == "/image.png"
                    else (b"<html>hi</html>", "text/html")
                )
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def allowlisted(tmp_path: Path) -> Iterator[tuple[Api, Site]]:
    site = Site()
    settings = Settings(data_dir=tmp_path, plugins=PLUGINS, url_allow_hosts=["localhost"])
    app = create_app(settings)
    key = app.state.services.store.create_key("t")
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        yield Api(http, Worker(settings), key, settings), site
    site.server.shutdown()
    site.server.server_close()


def test_an_allowlisted_host_is_fetched_but_its_redirect_to_a_private_address_is_not(
    allowlisted,
) -> None:
    api, site = allowlisted
    ok = api.run({"prompt": "x", "images": [f"http://localhost:{site.port}/image.png"]})
    assert ok.status_code == 202, ok.text
    hop = api.run({"prompt": "x", "images": [f"http://localhost:{site.port}/hop"]})
    assert hop.status_code == 400 and "10.0.0.1" in hop.json()["error"]["message"]
    page = api.run({"prompt": "x", "images": [f"http://localhost:{site.port}/page.html"]})
    assert page.status_code == 422  # a non-image URL


def test_signed_links_open_a_file_without_a_key_until_they_expire(api: Api) -> None:
    uploaded = api.http.post("/files", files={"file": ("p.png", png(64, 64), "image/png")}).json()
    link = api.http.post(f"/files/{uploaded['id']}/link", params={"expires_in": 60}).json()
    anonymous = TestClient(api.http.app)
    assert anonymous.get(link["url"]).content == png(64, 64)
    assert anonymous.get(uploaded["uri"]).status_code == 401
    assert anonymous.get(link["url"].replace("signature=", "signature=0")).status_code == 403
    other_file = link["url"].replace(uploaded["id"], "f" * 32)
    assert anonymous.get(other_file).status_code == 403
    expired = api.http.post(f"/files/{uploaded['id']}/link", params={"expires_in": 1}).json()
    time.sleep(2.1)
    assert anonymous.get(expired["url"]).status_code == 403
    other = api.http.app.state.services.store.create_key("other")  # type: ignore[attr-defined]
    stranger = api.http.post(
        f"/files/{uploaded['id']}/link", headers={"Authorization": f"Bearer {other}"}
    )
    assert stranger.status_code == 404
    assert (
        api.http.post(f"/files/{uploaded['id']}/link", params={"expires_in": 10**9}).status_code
        == 400
    )


def test_rate_limit_is_per_key_with_retry_after(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, rate_limit_per_minute=3))
    store = app.state.services.store
    first, second = store.create_key("a"), store.create_key("b")
    with TestClient(app) as http:
        body = {"app": "brushwork/studio", "input": {"prompt": "x"}}
        codes = [
            http.post(
                "/apps/run", json=body, headers={"Authorization": f"Bearer {first}"}
            ).status_code
            for _ in range(4)
        ]
        assert codes == [202, 202, 202, 429]
        limited = http.post("/apps/run", json=body, headers={"Authorization": f"Bearer {first}"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["type"] == "rate_limit_error"
        assert (
            http.post(
                "/apps/run", json=body, headers={"Authorization": f"Bearer {second}"}
            ).status_code
            == 202
        )


def test_a_revoked_key_is_refused_and_isolation_holds(api: Api) -> None:
    store = api.http.app.state.services.store  # type: ignore[attr-defined]
    other = store.create_key("other")
    task = api.run({"prompt": "mine"}).json()
    headers = {"Authorization": f"Bearer {other}"}
    assert api.http.get("/tasks", headers=headers).json()["data"] == []
    assert (
        api.http.post(f"/tasks/{task['id']}/webhook/redeliver", headers=headers).status_code == 404
    )
    assert store.revoke_key(other[:10]) == 1
    assert api.http.get("/tasks", headers=headers).status_code == 401
