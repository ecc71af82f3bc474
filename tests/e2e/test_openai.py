"""OpenAI compatibility both ways, with the official ``openai`` SDK and real HTTP only.

1. The SDK, unchanged but for ``base_url`` and ``api_key``, drives brushwork's /v1.
2. brushwork's ``openai`` engine drives a second brushwork server as if it were OpenAI,
   through a small local proxy that can inject a 429 or a stall.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

import brushwork
from tests.conftest import Server, start_server, stop_server
from tests.helpers import alpha_mask, encode, kept_equal, photo


@pytest.fixture
def oa(server: Server) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=server.base_url + "/v1", api_key=server.key, max_retries=0
    ) as client:
        yield client


def pixels(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_generate_n3_webp_at_1536x864(oa: openai.OpenAI) -> None:
    result = oa.images.generate(
        model="gpt-image-2",
        prompt='a shop sign "OPEN"',
        n=3,
        size="1536x864",
        output_format="webp",
        quality="low",
    )
    assert len(result.data) == 3 and result.size == "1536x864" and result.output_format == "webp"
    assert result.quality == "low" and result.background == "opaque"
    images = [pixels(d.b64_json) for d in result.data]
    assert all(im.size == (1536, 864) and im.format == "WEBP" for im in images)
    assert len({im.tobytes() for im in images}) == 3
    assert result.usage.output_tokens == 3 * brushwork.contract.image_output_tokens(
        1536, 864, "low"
    )
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


def test_edit_with_two_references(oa: openai.OpenAI) -> None:
    refs = [
        ("a.png", encode(photo(1024, 768, 1)), "image/png"),
        ("b.png", encode(photo(1024, 768, 2)), "image/png"),
    ]
    result = oa.images.edit(model="gpt-image-2", image=refs, prompt='make it warmer "SALE"')
    assert result.size == "1024x768" and pixels(result.data[0].b64_json).size == (1024, 768)
    assert result.usage.input_tokens_details.image_tokens > 0


def test_edit_with_an_alpha_mask_keeps_pixels(oa: openai.OpenAI) -> None:
    original = photo(1024, 1024, 5)
    mask = alpha_mask(1024, 1024, (300, 300, 700, 600))
    result = oa.images.edit(
        model="gpt-image-2",
        image=("p.png", encode(original), "image/png"),
        mask=("m.png", encode(mask), "image/png"),
        prompt="remove the thing",
    )
    edit = np.zeros((1024, 1024), np.float32)
    edit[300:600, 300:700] = 1
    assert kept_equal(original, pixels(result.data[0].b64_json).convert("RGB"), edit)


def test_edit_accepts_json_image_urls(server: Server) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(encode(photo(1024, 768))).decode()
    response = httpx.post(
        server.base_url + "/v1/images/edits",
        timeout=60,
        headers={"Authorization": f"Bearer {server.key}"},
        json={"model": "gpt-image-2", "prompt": "x", "images": [{"image_url": data_uri}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "1024x768"


def test_stream_sends_real_partials_then_the_image(oa: openai.OpenAI) -> None:
    events = list(
        oa.images.generate(
            model="gpt-image-2", prompt='a night sky "STARS"', stream=True, partial_images=2
        )
    )
    kinds = [e.type for e in events]
    assert kinds == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    final = np.asarray(pixels(events[-1].b64_json), np.int16)
    for partial in events[:2]:
        image = np.asarray(pixels(partial.b64_json), np.int16)
        assert image.shape == final.shape and np.abs(image - final).mean() > 1.0
    assert events[-1].usage.output_tokens > 0


def test_stream_of_an_inpaint_sends_partials_with_kept_pixels(oa: openai.OpenAI) -> None:
    original = photo(1024, 768, 4)
    mask = alpha_mask(1024, 768, (100, 100, 400, 300))
    events = list(
        oa.images.edit(
            model="gpt-image-2",
            image=("p.png", encode(original), "image/png"),
            mask=("m.png", encode(mask), "image/png"),
            prompt='"SALE"',
            stream=True,
            partial_images=2,
        )
    )
    assert [e.type for e in events] == ["image_edit.partial_image"] * 2 + ["image_edit.completed"]
    edit = np.zeros((768, 1024), np.float32)
    edit[100:300, 100:400] = 1
    for event in events:  # partial renders are composited too: kept pixels never move
        assert kept_equal(original, pixels(event.b64_json).convert("RGB"), edit)


def test_stream_of_an_edit_uses_image_edit_events(oa: openai.OpenAI) -> None:
    events = list(
        oa.images.edit(
            model="gpt-image-2",
            image=("p.png", encode(photo(1024, 768)), "image/png"),
            prompt="x",
            stream=True,
        )
    )
    assert [e.type for e in events] == ["image_edit.completed"]


def test_bad_size_is_bad_request_on_size(oa: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        oa.images.generate(model="gpt-image-2", prompt="x", size="1000x1000")
    assert info.value.param == "size" and "multiple of 16" in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        oa.images.generate(model="gpt-image-2", prompt="x", size="huge")
    assert info.value.param == "size"


def test_moderation_block_has_openais_code(oa: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        oa.images.generate(model="gpt-image-2", prompt="explicit porn scene")
    assert info.value.code == "moderation_blocked"


def test_unknown_model_and_wrong_key(server: Server, oa: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        oa.images.generate(model="no-such-model", prompt="x")
    with (
        openai.OpenAI(base_url=server.base_url + "/v1", api_key="bw_wrong", max_retries=0) as bad,
        pytest.raises(openai.AuthenticationError),
    ):
        bad.images.generate(model="gpt-image-2", prompt="x")
    assert "gpt-image-2" in {m.id for m in oa.models.list()}


def test_any_app_id_works_as_model(oa: openai.OpenAI) -> None:
    result = oa.images.generate(model="brushwork/studio", prompt="x", quality="low")
    assert result.data[0].b64_json


# ---------------------------------------------------------------- the openai engine


class FaultyProxy:
    """Forwards to an upstream, answering 429 to the first ``rate_limit`` posts or stalling."""

    def __init__(self, upstream: str, rate_limit: int = 0, stall: float = 0.0):
        self.posts = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.command == "POST":
                    proxy.posts += 1
                    if proxy.posts <= rate_limit:
                        self.send_response(429)
                        self.send_header("Retry-After", "0")
                        self.send_header("Content-Type", "application/json")
                        self.end_headers()
                        self.wfile.write(
                            b'{"error": {"message": "slow down", "type": "rate_limit_error", '
                            b'"param": null, "code": "rate_limit_exceeded"}}'
                        )
                        return
                    time.sleep(stall)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                try:
                    answer = httpx.request(
                        self.command,
                        upstream + self.path,
                        content=body,
                        headers=headers,
                        timeout=120,
                    )
                except httpx.HTTPError:
                    return
                self.send_response(answer.status_code)
                for key in ("content-type",):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def engine_server(tmp_path: Path, upstream: Server, proxy: FaultyProxy, **env: str) -> Server:
    return start_server(
        tmp_path,
        env_extra={
            "OPENAI_API_KEY": upstream.key,
            "OPENAI_BASE_URL": proxy.url + "/v1",
            **env,
        },
    )


def test_the_openai_app_is_unavailable_without_a_key(server: Server) -> None:
    with brushwork.inference(base_url=server.base_url, api_key=server.key) as client:
        app = client.apps.get("openai/gpt-image-2")
    assert app["available"] is False and "OPENAI_API_KEY" in app["unavailable_reason"]


def test_the_openai_engine_round_trips_and_retries_a_429(tmp_path: Path, server: Server) -> None:
    proxy = FaultyProxy(server.base_url, rate_limit=1)
    front = engine_server(tmp_path, server, proxy)
    try:
        with brushwork.inference(base_url=front.base_url, api_key=front.key) as client:
            task = client.run(
                {
                    "app": "openai/gpt-image-2",
                    "input": {
                        "prompt": 'a sign "UPSTREAM"',
                        "n": 2,
                        "width": 1536,
                        "height": 1024,
                        "output_format": "webp",
                        "quality": "low",
                    },
                }
            )
            assert task["status"] == 9 and len(task["output"]["images"]) == 2
            meta = task["output"]["output_meta"]
            assert meta["usage"]["source"] == "upstream" and meta["usage"]["output_tokens"] > 0
            assert meta["cost"]["estimated"] > 0
            assert meta["outputs"][0]["extra"]["engine"] == "openai"
            image = Image.open(
                io.BytesIO(client.files.download(task["output"]["images"][0]["uri"]))
            )
            assert image.size == (1536, 1024) and image.format == "WEBP"
        assert proxy.posts == 2  # the 429, then the retry that succeeded
        with brushwork.inference(base_url=server.base_url, api_key=server.key) as upstream:
            forwarded = upstream.tasks.list(limit=1)["data"][0]["input"]
        assert (forwarded["width"], forwarded["height"], forwarded["n"]) == (1536, 1024, 2)
        assert forwarded["output_format"] == "webp" and forwarded["quality"] == "low"
    finally:
        stop_server(front)
        proxy.close()


def test_the_openai_engine_keeps_pixels_on_inpaint(tmp_path: Path, server: Server) -> None:
    proxy = FaultyProxy(server.base_url)
    front = engine_server(tmp_path, server, proxy)
    original = photo(1024, 768, 9)
    try:
        with brushwork.inference(base_url=front.base_url, api_key=front.key) as client:
            task = client.run(
                {
                    "app": "openai/gpt-image-2",
                    "input": {
                        "prompt": "fill",
                        "images": [encode(original)],
                        "mask": encode(alpha_mask(1024, 768, (0, 0, 512, 384))),
                    },
                }
            )
            result = Image.open(
                io.BytesIO(client.files.download(task["output"]["images"][0]["uri"]))
            )
        edit = np.zeros((768, 1024), np.float32)
        edit[:384, :512] = 1
        assert kept_equal(original, result, edit)
    finally:
        stop_server(front)
        proxy.close()


def test_an_upstream_stall_fails_the_task_with_a_timeout(tmp_path: Path, server: Server) -> None:
    proxy = FaultyProxy(server.base_url, stall=6.0)
    front = engine_server(
        tmp_path, server, proxy, BRUSHWORK_OPENAI_TIMEOUT="1", BRUSHWORK_OPENAI_RETRIES="0"
    )
    try:
        with (
            brushwork.inference(base_url=front.base_url, api_key=front.key) as client,
            pytest.raises(brushwork.TaskError) as info,
        ):
            client.run({"app": "openai/gpt-image-2", "input": {"prompt": "x"}})
        assert info.value.task["error"]["code"] == "upstream_timeout"
        assert "did not answer within 1 s" in info.value.task["error"]["message"]
    finally:
        stop_server(front)
        proxy.close()
