"""The SDK on its own: public surface, no server-side imports, uploads found in inputs,
errors rebuilt from envelopes; driven through an injected httpx transport (no server)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import brushwork
from brushwork.client._common import find_uploads
from brushwork.errors import ModerationBlocked, NotFound, RateLimited, from_envelope
from tests.helpers import png

PUBLIC = {
    "APIConnectionError",
    "AsyncClient",
    "BrushworkError",
    "Client",
    "Conflict",
    "Forbidden",
    "Gone",
    "InvalidInput",
    "ModerationBlocked",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "StorageFull",
    "TaskError",
    "TaskStatus",
    "Unauthorized",
    "UnprocessableImage",
    "WebhookVerificationError",
    "__version__",
    "async_inference",
    "expand_canvas",  # imported when first used: it needs Pillow, the SDK alone does not
    "fit_size",
    "inference",
    "verify_webhook",
}


def test_public_surface_is_exactly_all() -> None:
    assert set(brushwork.__all__) == PUBLIC
    assert all(hasattr(brushwork, name) for name in brushwork.__all__)


def test_importing_the_sdk_loads_no_server_engine_or_imaging_code() -> None:
    code = (
        "import sys, brushwork; heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'PIL', 'numpy', 'cv2', 'torch', 'sqlalchemy', 'huey', 'uvicorn') "
        "or m.startswith(('brushwork.server', 'brushwork.engines', 'brushwork.tasks'))]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_uploads_are_found_where_files_can_be(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png(32, 32))
    b64 = base64.b64encode(png(16, 16)).decode()
    params = {
        "app": "x",
        "input": {
            "prompt": str(path),  # a prompt is never a file
            "images": [
                str(path),
                path,
                png(8, 8),
                "data:image/png;base64," + b64,
                b64,
                "https://example.com/a.png",
                "/files/" + "a" * 32,
                "plain words",
            ],
            "mask": "not/a/file.png",
        },
    }
    found = list(find_uploads(params))
    assert [u.key for u in found] == [0, 1, 2, 3, 4]
    assert found[0].filename == "a.png" and found[2].filename == "upload.png"
    for upload in found:
        upload.put("uri")
    assert params["input"]["images"][:5] == ["uri"] * 5
    assert params["input"]["prompt"] == str(path)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            404,
            {"error": {"message": "m", "type": "t", "param": "id", "code": "not_found"}},
            NotFound,
        ),
        (
            400,
            {"error": {"message": "m", "type": "t", "param": None, "code": "moderation_blocked"}},
            ModerationBlocked,
        ),
        (429, {"error": {"message": "slow down"}}, RateLimited),
        (502, "<html>bad gateway</html>", brushwork.BrushworkError),
    ],
)
def test_errors_are_rebuilt_from_the_envelope(status, body, cls) -> None:
    exc = from_envelope(status, body)
    assert type(exc) is cls and exc.http_status == status


def test_client_runs_through_an_injected_transport() -> None:
    seen: list[httpx.Request] = []
    done = {"id": "t1", "status": 9, "output": {"images": []}}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/apps/run":
            return httpx.Response(200, json=done)
        return httpx.Response(
            404,
            json={
                "error": {
                    "message": "no",
                    "type": "not_found_error",
                    "param": "id",
                    "code": "not_found",
                }
            },
        )

    client = brushwork.inference(
        base_url="http://bw.test", api_key="bw_k", transport=httpx.MockTransport(handler)
    )
    assert client.run({"app": "a/b", "input": {"prompt": "x"}}) == done
    body = json.loads(seen[0].content)
    assert body == {"app": "a/b", "input": {"prompt": "x"}, "wait": True}
    assert seen[0].headers["authorization"] == "Bearer bw_k"
    with pytest.raises(NotFound) as info:
        client.tasks.get("nope")
    assert info.value.param == "id"
    with pytest.raises(brushwork.BrushworkError):
        client.run({"input": {}})


def test_a_failed_task_raises_task_error_with_the_task() -> None:
    failed = {"id": "t", "status": 10, "error": {"message": "boom", "code": "engine_error"}}
    client = brushwork.inference(
        base_url="http://bw.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=failed)),
    )
    with pytest.raises(brushwork.TaskError) as info:
        client.run({"app": "a/b", "input": {"prompt": "x"}})
    assert info.value.task == failed and "boom" in info.value.message


def test_no_server_is_a_connection_error() -> None:
    client = brushwork.inference(base_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(brushwork.APIConnectionError):
        client.apps.list()


def test_sdk_clients_share_one_verifying_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from brushwork import tls

    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    tls.context.cache_clear()
    clients = [brushwork.inference(base_url="http://127.0.0.1:9") for _ in range(3)]
    clients.append(brushwork.inference(base_url="https://brushwork.example"))
    together = brushwork.async_inference(base_url="http://127.0.0.1:9")
    assert len(built) == 1  # one CA bundle read, not one a client (about 40 ms of CPU each)
    assert built[0].verify_mode == ssl.CERT_REQUIRED and built[0].check_hostname
    for client in clients:
        client.close()
    asyncio.run(together.aclose())
