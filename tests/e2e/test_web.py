"""The web playground in headless Chromium (Debian's), driven by Playwright.

Screenshots of each view go to ``out/screenshots`` (printed at the end of the run).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, Server
from tests.helpers import encode, photo

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "out" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server: Server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base_url + "/")
    page.fill("#api-key", server.key)
    page.dispatch_event("#api-key", "change")
    page.wait_for_selector("textarea[name=prompt]")
    yield page
    context.close()
    assert errors == []


def api(server: Server) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {server.key}"}, timeout=30
    )


def test_generate_from_a_prompt(page, server: Server) -> None:
    page.fill("textarea[name=prompt]", 'A poster that says "Hello web" at sunset')
    page.select_option("select[name=preset]", "1536x1024")
    page.click("#run")
    page.wait_for_selector("#gallery img", timeout=30_000)
    assert page.text_content("#status") == "COMPLETED"
    assert page.locator("#previews img").count() == 2  # partial renders arrived before the image
    assert page.eval_on_selector(
        "#gallery img", "img => [img.naturalWidth, img.naturalHeight]"
    ) == [1536, 1024]
    page.screenshot(path=str(SHOTS / "1-generate.png"), full_page=True)
    page.click("#gallery button:has-text('copy as code')")
    assert "brushwork import inference" in page.text_content("#code-sdk")
    assert "/apps/run" in page.text_content("#code-curl")
    page.screenshot(path=str(SHOTS / "2-copy-as-code.png"))
    page.click("#code-dialog button")
    assert "Hello web" in page.text_content("#history")


def test_paint_a_mask_and_inpaint_keeps_the_upload(page, server: Server, tmp_path: Path) -> None:
    upload = tmp_path / "photo.png"
    upload.write_bytes(encode(photo(1024, 768, seed=11)))
    page.set_input_files("#files", str(upload))
    page.wait_for_selector("#editor:not([hidden])")
    page.check("input[name=tool][value=rect]")
    box = page.locator("#overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=8)
    page.mouse.up()
    page.check("input[name=tool][value=brush]")
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    page.screenshot(path=str(SHOTS / "3-mask-editor.png"), full_page=True)
    page.fill("textarea[name=prompt]", 'a sign reading "SALE"')
    page.click("#run")
    page.wait_for_selector("#gallery img", timeout=30_000)
    page.screenshot(path=str(SHOTS / "4-inpaint-result.png"), full_page=True)
    with api(server) as http:
        task = http.get("/tasks", params={"limit": 1}).json()["data"][0]
        assert task["output"]["output_meta"]["outputs"][0]["extra"]["mode"] == "inpaint"
        mask = np.asarray(
            Image.open(io.BytesIO(http.get(task["input"]["mask"]).content)).convert("L")
        )
        result = np.asarray(
            Image.open(io.BytesIO(http.get(task["output"]["images"][0]["uri"]).content))
        )
    assert mask.shape == (768, 1024)  # exactly the image's size
    keep = mask == 0
    assert 0.3 < keep.mean() < 0.95  # the painted areas are edits, the rest is kept
    original = np.asarray(Image.open(upload))
    assert np.array_equal(result[keep], original[keep])


def test_cancel_a_running_task(page, server: Server) -> None:
    page.select_option("#app", "test/slow")
    page.wait_for_timeout(300)
    page.fill("textarea[name=prompt]", "a slow one")
    page.click("#run")
    page.wait_for_function(
        "document.querySelector('#status').textContent === 'RUNNING'", timeout=20_000
    )
    page.click("#cancel")
    page.wait_for_function(
        "document.querySelector('#status').textContent === 'CANCELLED'", timeout=5_000
    )
    page.screenshot(path=str(SHOTS / "5-cancelled.png"), full_page=True)


def test_a_bad_size_shows_the_servers_message_next_to_the_field(page) -> None:
    page.fill("textarea[name=prompt]", "x")
    page.fill("input[name=width]", "1000")
    page.fill("input[name=height]", "1024")
    with page.expect_response(lambda r: r.url.endswith("/apps/run")) as answer:
        page.click("#run")
    error = answer.value.json()["error"]
    assert answer.value.status == 400 and error["param"] == "width"
    shown = page.text_content("[data-error-for=width]")
    assert shown == error["message"] == "width must be a multiple of 16, got 1000"
    page.screenshot(path=str(SHOTS / "6-bad-size.png"), full_page=True)


def mask_painted_fraction(page) -> float:
    return page.evaluate(
        """() => {
            const c = document.querySelector('#overlay');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let on = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) on++;
            return on / (c.width * c.height);
        }"""
    )


def drag(page, points: list[tuple[float, float]]) -> None:
    box = page.locator("#overlay").bounding_box()
    at = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for point in at[1:]:
        page.mouse.move(*point, steps=4)
    page.mouse.up()


def test_drop_and_paste_images_and_every_mask_tool(page, tmp_path: Path) -> None:
    data = encode(photo(1024, 768, seed=3))
    page.evaluate(
        """bytes => {
            const file = new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'});
            const dt = new DataTransfer();
            dt.items.add(file);
            const drop = new DragEvent('drop', {dataTransfer: dt, bubbles: true});
            document.querySelector('#drop').dispatchEvent(drop);
            const paste = new ClipboardEvent('paste', {clipboardData: dt, bubbles: true});
            document.dispatchEvent(paste);
        }""",
        list(data),
    )
    page.wait_for_function("document.querySelectorAll('#thumbs img').length === 2")
    assert page.eval_on_selector("#photo", "c => [c.width, c.height]") == [1024, 768]
    assert mask_painted_fraction(page) == 0
    page.check("input[name=tool][value=lasso]")
    drag(page, [(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)])
    lasso = mask_painted_fraction(page)
    assert 0.1 < lasso < 0.25
    page.check("input[name=tool][value=eraser]")
    drag(page, [(0.2, 0.3), (0.4, 0.3)])
    erased = mask_painted_fraction(page)
    assert erased < lasso
    page.click("#undo")
    assert mask_painted_fraction(page) == pytest.approx(lasso)
    page.click("#redo")
    assert mask_painted_fraction(page) == pytest.approx(erased)
    page.click("#invert")
    assert mask_painted_fraction(page) == pytest.approx(1 - erased, abs=0.01)
    page.click("#clear")
    assert mask_painted_fraction(page) == 0
    page.click("#thumbs figure:first-child button")  # remove the first image
    assert page.locator("#thumbs img").count() == 1
    page.screenshot(path=str(SHOTS / "7-drop-and-tools.png"), full_page=True)


def test_edit_this_downloads_and_history(page, server: Server) -> None:
    page.fill("textarea[name=prompt]", 'a forest "Again"')
    page.fill("input[name=seed]", "5")
    page.click("#run")
    page.wait_for_selector("#gallery img", timeout=30_000)
    for kind, suffix in (("png", ".png"), ("jpeg", ".jpg"), ("webp", ".webp")):
        with page.expect_download() as download:
            page.click(f"#gallery figure:first-child button:text-is('{kind}')")
        assert download.value.suggested_filename.endswith(suffix)
        saved = download.value.path()
        assert Image.open(saved).size == (1024, 1024)
    page.click("#gallery figure:first-child button:has-text('edit this')")
    page.wait_for_selector("#editor:not([hidden])")
    assert page.locator("#thumbs img").count() == 1
    assert page.eval_on_selector("#photo", "c => [c.width, c.height]") == [1024, 1024]
    page.click("#refresh-history")
    page.wait_for_selector("#history li")
    assert "Again" in page.text_content("#history li:first-child")
    page.click("#history li:first-child")
    page.wait_for_function("document.querySelectorAll('#gallery figure').length >= 2")


def test_the_masks_app_selects_from_a_box_painted_over_the_object(
    page, server: Server, tmp_path: Path
) -> None:
    from tests.unit.test_selection import scene

    picture, truth = scene()
    upload = tmp_path / "scene.png"
    picture.save(upload)
    page.select_option("#app", "brushwork/masks")
    page.wait_for_selector("#fields select[name=mode]")
    assert page.locator("textarea[name=prompt]").count() == 0  # its own form, from its schema
    page.select_option("#fields select[name=mode]", "box")
    page.set_input_files("#files", str(upload))
    page.wait_for_selector("#editor:not([hidden])")
    page.check("input[name=tool][value=rect]")
    box = page.locator("#overlay").bounding_box()
    shown = page.locator("#photo").bounding_box()
    assert all(abs(box[k] - shown[k]) < 1 for k in ("x", "y", "width", "height"))  # lies over it
    scale_x, scale_y = box["width"] / 640, box["height"] / 480
    page.mouse.move(box["x"] + 245 * scale_x, box["y"] + 115 * scale_y)
    page.mouse.down()
    page.mouse.move(box["x"] + 515 * scale_x, box["y"] + 325 * scale_y, steps=8)
    page.mouse.up()
    page.click("#run")
    page.wait_for_function("document.querySelectorAll('#gallery img').length >= 3",
                           timeout=30_000)  # fmt: skip
    page.screenshot(path=str(SHOTS / "8-masks-app.png"), full_page=True)
    with api(server) as http:
        task = http.get("/tasks", params={"limit": 1}).json()["data"][0]
        assert task["app"] == "brushwork/masks" and task["input"]["mode"] == "box"
        mask = np.asarray(Image.open(io.BytesIO(http.get(task["output"]["mask"]["uri"]).content)))
    found = mask > 127
    assert (found & truth).sum() / (found | truth).sum() > 0.85
