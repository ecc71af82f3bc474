"""The synchronous client: ``inference(base_url=...)``."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from brushwork import tls
from brushwork.client import _common as c
from brushwork.errors import APIConnectionError

STREAM_RETRIES = 5


class Client:
    """Talks to one brushwork server. ``transport`` lets tests inject an httpx transport."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = c.base_url(base_url)
        self._http = httpx.Client(
            base_url=self.base_url, headers=c.headers(api_key), timeout=timeout,
            transport=transport, verify=tls.context(),
        )  # fmt: skip
        self.tasks = Tasks(self)
        self.files = Files(self)
        self.apps = Apps(self)
        self.sessions = Sessions(self)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise APIConnectionError(f"cannot reach {self.base_url}: {exc}") from exc
        c.raise_for(response)
        return response

    def run(self, params: dict[str, Any], *, wait: bool = True, stream: bool = False) -> Any:
        """Run an app. ``wait`` → the finished task; ``wait=False`` → the queued task;
        ``stream=True`` → an iterator of updates ending with the finished task."""
        params = self._upload_inputs(params)
        if stream:
            task = self.request("POST", "/apps/run", json=c.run_body(params, False)).json()
            return self.tasks.stream(task["id"])
        if not wait:
            return self.request("POST", "/apps/run", json=c.run_body(params, False)).json()
        task = self.request("POST", "/apps/run", json=c.run_body(params, True), timeout=None).json()
        return c.finished(self.tasks.wait(task["id"]) if not c.is_terminal(task) else task)

    def expand(
        self,
        image: str | Path | bytes,
        borders: tuple[int, int, int, int],
        prompt: str = "continue the picture beyond its edges",
        *,
        app: str = "brushwork/studio",
        **input: Any,
    ) -> Any:
        """Outpaint (SPEC §10): ``image`` on a canvas larger by ``borders`` (left, top, right,
        bottom pixels, rounded up to an allowed size), the border filled by ``app``; the
        original pixels stay exactly. Needs Pillow (the server extra). The finished task."""
        return self.run(c.expand_params(image, borders, prompt, app, input))

    def session(self, app: str, *, timeout: int | None = None) -> Session:
        """A multi-pass editing session with ``app`` (SPEC §8): ``with client.session(app) as s:
        s.call({"prompt": ...})``; a call without ``images`` edits the latest output. The
        session is made by the first call and ended when the block exits."""
        return Session(self, app, timeout)

    def _upload_inputs(self, params: dict[str, Any]) -> dict[str, Any]:
        params = copy.deepcopy(params)
        for upload in c.find_uploads(params):
            upload.put(self.files.upload(upload.data, filename=upload.filename)["uri"])
        return params

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Session:
    """One session's calls, in order; ``id`` is known after the first call."""

    def __init__(self, client: Client, app: str, timeout: int | None = None):
        self._c, self.app, self.timeout = client, app, timeout
        self.id: str | None = None

    def call(self, params: dict[str, Any], *, wait: bool = True, stream: bool = False) -> Any:
        """Run one pass: ``params`` is an app input, or ``{"input": ..., "webhook": ...}``."""
        body = c.session_body(params, self.app, self.id, self.timeout)
        if stream:  # the queued task says which session it is in; then its updates
            queued = self._c.run(body, wait=False)
            self.id = self.id or queued["session_id"]
            return self._c.tasks.stream(queued["id"])
        result = self._c.run(body, wait=wait)
        self.id = self.id or result["session_id"]
        return result

    def get(self) -> dict[str, Any]:
        return self._c.sessions.get(c.require_session(self.id))

    def keepalive(self) -> dict[str, Any]:
        return self._c.sessions.keepalive(c.require_session(self.id))

    def end(self) -> None:
        if self.id is not None:
            self._c.sessions.end(self.id)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.end()


class Sessions:
    def __init__(self, client: Client):
        self._c = client

    def list(self, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        result: dict[str, Any] = self._c.request("GET", "/sessions", params=query).json()
        return result

    def get(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._c.request("GET", f"/sessions/{session_id}").json()
        return result

    def keepalive(self, session_id: str) -> dict[str, Any]:
        path = f"/sessions/{session_id}/keepalive"
        result: dict[str, Any] = self._c.request("POST", path).json()
        return result

    def end(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._c.request("DELETE", f"/sessions/{session_id}").json()
        return result


class Tasks:
    def __init__(self, client: Client):
        self._c = client

    def get(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._c.request("GET", f"/tasks/{task_id}").json()
        return result

    def cancel(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._c.request("POST", f"/tasks/{task_id}/cancel").json()
        return result

    def list(self, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        result: dict[str, Any] = self._c.request("GET", "/tasks", params=query).json()
        return result

    def delete(self, task_id: str) -> None:
        """Delete a finished task and its output files (Conflict while it runs)."""
        self._c.request("DELETE", f"/tasks/{task_id}")

    def wait(self, task_id: str, *, poll: float = 0.25) -> dict[str, Any]:
        while True:
            task = self.get(task_id)
            if c.is_terminal(task):
                return task
            time.sleep(poll)

    def stream(self, task_id: str) -> Iterator[dict[str, Any]]:
        """Server-sent updates; reconnects with Last-Event-ID so nothing is lost or repeated."""
        last: str | None = None
        for attempt in range(STREAM_RETRIES + 1):
            headers = {"Last-Event-ID": last} if last else {}
            try:
                with connect_sse(
                    self._c._http,
                    "GET",
                    f"/tasks/{task_id}/stream",
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=None),
                ) as source:
                    c.raise_for(source.response)
                    for sse in source.iter_sse():
                        if not sse.data:
                            continue  # a retry hint or keep-alive, no update
                        if sse.id:
                            last = sse.id
                        yield sse.json()
                        if sse.event == "done":
                            return
            except httpx.TransportError as exc:
                if attempt == STREAM_RETRIES:
                    raise APIConnectionError(f"stream of task {task_id} broke: {exc}") from exc
                time.sleep(min(2.0, 0.2 * 2**attempt))


class Files:
    def __init__(self, client: Client):
        self._c = client

    def upload(self, source: str | Path | bytes, *, filename: str | None = None) -> dict[str, Any]:
        name, data, content_type = c.file_payload(source, filename)
        result: dict[str, Any] = self._c.request(
            "POST", "/files", files={"file": (name, data, content_type)}
        ).json()
        return result

    def download(self, uri: str) -> bytes:
        if c.same_origin(uri, self._c.base_url):
            return self._c.request("GET", uri.removeprefix(self._c.base_url)).content
        try:
            response = httpx.get(uri, timeout=60.0, verify=tls.context())
        except httpx.TransportError as exc:
            raise APIConnectionError(f"cannot download {uri}: {exc}") from exc
        c.raise_for(response)
        return response.content

    def delete(self, file_id_or_uri: str) -> None:
        """Delete an uploaded file (an id, or its uri); its bytes are gone."""
        self._c.request("DELETE", f"/files/{c.file_id(file_id_or_uri)}")


class Apps:
    def __init__(self, client: Client):
        self._c = client

    def list(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._c.request("GET", "/apps").json()["data"]
        return result

    def get(self, app_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._c.request("GET", f"/apps/{app_id}").json()
        return result


def inference(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> Client:
    """A client for a brushwork server (key from ``BRUSHWORK_API_KEY`` when not given)."""
    return Client(api_key=api_key, base_url=base_url, timeout=timeout, transport=transport)
