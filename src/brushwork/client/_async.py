"""The asynchronous client: ``async_inference(base_url=...)``, the same calls awaited."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from brushwork import tls
from brushwork.client import _common as c
from brushwork.client._sync import STREAM_RETRIES
from brushwork.errors import APIConnectionError


class AsyncClient:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.base_url = c.base_url(base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=c.headers(api_key), timeout=timeout,
            transport=transport, verify=tls.context(),
        )  # fmt: skip
        self.tasks = AsyncTasks(self)
        self.files = AsyncFiles(self)
        self.apps = AsyncApps(self)
        self.sessions = AsyncSessions(self)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise APIConnectionError(f"cannot reach {self.base_url}: {exc}") from exc
        c.raise_for(response)
        return response

    async def run(self, params: dict[str, Any], *, wait: bool = True, stream: bool = False) -> Any:
        """As ``Client.run``; with ``stream=True`` it returns an async iterator."""
        params = await self._upload_inputs(params)
        if stream or not wait:
            response = await self.request("POST", "/apps/run", json=c.run_body(params, False))
            task = response.json()
            return self.tasks.stream(task["id"]) if stream else task
        response = await self.request(
            "POST", "/apps/run", json=c.run_body(params, True), timeout=None
        )
        task = response.json()
        return c.finished(await self.tasks.wait(task["id"]) if not c.is_terminal(task) else task)

    async def expand(
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
        return await self.run(c.expand_params(image, borders, prompt, app, input))

    def session(self, app: str, *, timeout: int | None = None) -> AsyncSession:
        """As ``Client.session``: ``async with client.session(app) as s: await s.call(...)``."""
        return AsyncSession(self, app, timeout)

    async def _upload_inputs(self, params: dict[str, Any]) -> dict[str, Any]:
        params = copy.deepcopy(params)
        for upload in c.find_uploads(params):
            stored = await self.files.upload(upload.data, filename=upload.filename)
            upload.put(stored["uri"])
        return params

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


class AsyncSession:
    """One session's calls, in order; ``id`` is known after the first call."""

    def __init__(self, client: AsyncClient, app: str, timeout: int | None = None):
        self._c, self.app, self.timeout = client, app, timeout
        self.id: str | None = None

    async def call(self, params: dict[str, Any], *, wait: bool = True, stream: bool = False) -> Any:
        body = c.session_body(params, self.app, self.id, self.timeout)
        if stream:
            queued = await self._c.run(body, wait=False)
            self.id = self.id or queued["session_id"]
            return self._c.tasks.stream(queued["id"])
        result = await self._c.run(body, wait=wait)
        self.id = self.id or result["session_id"]
        return result

    async def get(self) -> dict[str, Any]:
        return await self._c.sessions.get(c.require_session(self.id))

    async def keepalive(self) -> dict[str, Any]:
        return await self._c.sessions.keepalive(c.require_session(self.id))

    async def end(self) -> None:
        if self.id is not None:
            await self._c.sessions.end(self.id)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.end()


class AsyncSessions:
    def __init__(self, client: AsyncClient):
        self._c = client

    async def list(self, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        result: dict[str, Any] = (await self._c.request("GET", "/sessions", params=query)).json()
        return result

    async def get(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._c.request("GET", f"/sessions/{session_id}")).json()
        return result

    async def keepalive(self, session_id: str) -> dict[str, Any]:
        response = await self._c.request("POST", f"/sessions/{session_id}/keepalive")
        result: dict[str, Any] = response.json()
        return result

    async def end(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._c.request("DELETE", f"/sessions/{session_id}")).json()
        return result


class AsyncTasks:
    def __init__(self, client: AsyncClient):
        self._c = client

    async def get(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._c.request("GET", f"/tasks/{task_id}")).json()
        return result

    async def cancel(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._c.request("POST", f"/tasks/{task_id}/cancel")).json()
        return result

    async def list(self, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        result: dict[str, Any] = (await self._c.request("GET", "/tasks", params=query)).json()
        return result

    async def delete(self, task_id: str) -> None:
        """Delete a finished task and its output files (Conflict while it runs)."""
        await self._c.request("DELETE", f"/tasks/{task_id}")

    async def wait(self, task_id: str, *, poll: float = 0.25) -> dict[str, Any]:
        while True:
            task = await self.get(task_id)
            if c.is_terminal(task):
                return task
            await asyncio.sleep(poll)

    async def stream(self, task_id: str) -> AsyncIterator[dict[str, Any]]:
        last: str | None = None
        for attempt in range(STREAM_RETRIES + 1):
            headers = {"Last-Event-ID": last} if last else {}
            try:
                async with aconnect_sse(
                    self._c._http,
                    "GET",
                    f"/tasks/{task_id}/stream",
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=None),
                ) as source:
                    c.raise_for(source.response)
                    async for sse in source.aiter_sse():
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
                await asyncio.sleep(min(2.0, 0.2 * 2**attempt))


class AsyncFiles:
    def __init__(self, client: AsyncClient):
        self._c = client

    async def upload(
        self, source: str | Path | bytes, *, filename: str | None = None
    ) -> dict[str, Any]:
        name, data, content_type = c.file_payload(source, filename)
        response = await self._c.request(
            "POST", "/files", files={"file": (name, data, content_type)}
        )
        result: dict[str, Any] = response.json()
        return result

    async def download(self, uri: str) -> bytes:
        if c.same_origin(uri, self._c.base_url):
            return (await self._c.request("GET", uri.removeprefix(self._c.base_url))).content
        async with httpx.AsyncClient(timeout=60.0, verify=tls.context()) as http:
            try:
                response = await http.get(uri)
            except httpx.TransportError as exc:
                raise APIConnectionError(f"cannot download {uri}: {exc}") from exc
        c.raise_for(response)
        return response.content

    async def delete(self, file_id_or_uri: str) -> None:
        """Delete an uploaded file (an id, or its uri); its bytes are gone."""
        await self._c.request("DELETE", f"/files/{c.file_id(file_id_or_uri)}")


class AsyncApps:
    def __init__(self, client: AsyncClient):
        self._c = client

    async def list(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self._c.request("GET", "/apps")).json()["data"]
        return result

    async def get(self, app_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._c.request("GET", f"/apps/{app_id}")).json()
        return result


def async_inference(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncClient:
    return AsyncClient(api_key=api_key, base_url=base_url, timeout=timeout, transport=transport)
