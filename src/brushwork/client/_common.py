"""What the sync and async clients share: configuration, errors, and finding files in inputs.

No I/O happens here, so both clients call the same code and differ only in
how they send requests.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from brushwork.contract import TaskStatus
from brushwork.errors import BrushworkError, TaskError, from_envelope

DEFAULT_BASE_URL = "http://127.0.0.1:8420"
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")
_BASE64 = re.compile(r"[A-Za-z0-9+/\s]+={0,2}")


def base_url(value: str | None) -> str:
    return (value or os.environ.get("BRUSHWORK_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def headers(api_key: str | None) -> dict[str, str]:
    key = api_key if api_key is not None else os.environ.get("BRUSHWORK_API_KEY")
    out = {"User-Agent": "brushwork-sdk"}
    if key:
        out["Authorization"] = f"Bearer {key}"
    return out


def raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    raise from_envelope(response.status_code, body)


def status_of(task: dict[str, Any]) -> TaskStatus:
    return TaskStatus.parse(task.get("status", TaskStatus.RECEIVED))


def is_terminal(task: dict[str, Any]) -> bool:
    return status_of(task).is_terminal()


def finished(task: dict[str, Any]) -> dict[str, Any]:
    """Return a finished task, or raise TaskError when it failed or was cancelled."""
    status = status_of(task)
    if status == TaskStatus.FAILED:
        error = task.get("error") or {}
        raise TaskError(
            f"task {task.get('id')} failed: {error.get('message', 'unknown error')}",
            task=task,
            code=error.get("code"),
        )
    if status == TaskStatus.CANCELLED:
        raise TaskError(f"task {task.get('id')} was cancelled", task=task, code="cancelled")
    return task


@dataclass
class Upload:
    """A value in an input that must be uploaded first; ``put`` replaces it by the file uri."""

    container: dict[str, Any] | list[Any]
    key: Any
    data: bytes
    filename: str

    def put(self, uri: str) -> None:
        self.container[self.key] = uri


def find_uploads(params: dict[str, Any]) -> Iterator[Upload]:
    """Local paths, bytes, data URIs and base64 images anywhere in ``input`` (not ``prompt``)."""
    inp = params.get("input")
    if isinstance(inp, dict):
        for key, value in inp.items():
            if key != "prompt":
                yield from _walk(inp, key, value)


def _walk(container: Any, key: Any, value: Any) -> Iterator[Upload]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(value, i, item)
        return
    found = _as_upload(value)
    if found is not None:
        yield Upload(container, key, *found)


def _as_upload(value: Any) -> tuple[bytes, str] | None:
    if isinstance(value, Path):
        return value.read_bytes(), value.name
    if isinstance(value, bytes | bytearray):
        return bytes(value), "upload" + _ext(bytes(value))
    if not isinstance(value, str) or value.startswith(("http://", "https://", "/files/")):
        return None
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        if ";base64" in header:
            data = base64.b64decode(payload)
            return data, "upload" + _ext(data)
        return None
    if len(value) < 4096 and os.path.isfile(value):
        return Path(value).read_bytes(), os.path.basename(value)
    return _as_base64_image(value)


def _as_base64_image(value: str) -> tuple[bytes, str] | None:
    if len(value) < 64 or not _BASE64.fullmatch(value):
        return None
    try:
        data = base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError):
        return None
    return (data, "upload" + _ext(data)) if data.startswith(_IMAGE_MAGIC) else None


def _ext(data: bytes) -> str:
    for magic, ext in ((b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"RIFF", ".webp")):
        if data.startswith(magic):
            return ext
    return ".bin"


def file_payload(source: str | Path | bytes, filename: str | None) -> tuple[str, bytes, str]:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        name = filename or "upload" + _ext(data)
    else:
        path = Path(source)
        data = path.read_bytes()
        name = filename or path.name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, data, content_type


def file_id(id_or_uri: str) -> str:
    """``abc…`` from ``abc…``, ``/files/abc…`` or ``http://host/files/abc…?expires=…``."""
    return id_or_uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def same_origin(uri: str, base: str) -> bool:
    """Only send the API key to the server it belongs to."""
    return uri.startswith(base + "/") or uri.startswith("/")


def session_body(
    params: dict[str, Any], app: str, session_id: str | None, timeout: int | None
) -> dict[str, Any]:
    """A run body for a session call: ``params`` is the input itself, or a run body's keys."""
    body: dict[str, Any] = dict(params) if "input" in params else {"input": params}
    body |= {"app": app, "session": session_id or "new"}
    if timeout is not None:
        body["session_timeout"] = timeout
    return body


def require_session(session_id: str | None) -> str:
    if session_id is None:
        raise BrushworkError("the session starts with its first call", code="invalid_call")
    return session_id


def run_body(params: dict[str, Any], wait: bool) -> dict[str, Any]:
    if "app" not in params or "input" not in params:
        raise BrushworkError("run() needs {'app': ..., 'input': {...}}", code="invalid_call")
    return {**params, "wait": wait}


def expand_params(
    image: str | Path | bytes,
    borders: tuple[int, int, int, int],
    prompt: str,
    app: str,
    input: dict[str, Any],
) -> dict[str, Any]:
    """The ``run`` parameters of an outpaint: the expanded canvas and its border's mask."""
    canvas, mask = expanded(image, borders)
    return {"app": app, "input": {"prompt": prompt, **input, "images": [canvas], "mask": mask}}


def expanded(image: str | Path | bytes, borders: tuple[int, int, int, int]) -> tuple[bytes, bytes]:
    """PNG bytes of ``image`` on its expanded canvas, and of the mask of the new border."""
    import io

    from PIL import Image

    from brushwork.imaging.canvas import expand_canvas

    source = io.BytesIO(image) if isinstance(image, bytes) else image
    with Image.open(source) as picture:
        picture.load()
    canvas, mask = expand_canvas(picture, *borders)
    out = []
    for part in (canvas, mask):
        buffer = io.BytesIO()
        part.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out[0], out[1]
