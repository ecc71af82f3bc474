"""The diffusers engine on tiny random pipelines: every app and mode, sizes, n, seeds,
progress, previews, cancel, kept pixels, and the errors a user meets."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from brushwork.engines.base import Request, TaskCancelled
from brushwork.engines.diffusion import APPS, DiffusersEngine
from brushwork.engines.diffusion import engine as engine_module
from brushwork.engines.diffusion.catalog import MODELS, find_weights
from brushwork.engines.diffusion.engine import generation_size, mask_image
from brushwork.engines.diffusion.loading import WARM
from brushwork.imaging.composite import keep_composite

W, H = 96, 72  # not multiples of 16: the engine renders 96x64 or 96x72 and resizes


class Events:
    def __init__(self, cancel_at: int | None = None):
        self.calls: list[tuple[float, str | None, Image.Image | None]] = []
        self.cancel_at = cancel_at

    def __call__(
        self, fraction: float, message: str | None = None, preview: Image.Image | None = None
    ) -> None:
        self.calls.append((fraction, message, preview))
        if self.cancel_at is not None and len(self.calls) >= self.cancel_at:
            raise TaskCancelled


def photo(seed: int = 0, size: tuple[int, int] = (W, H)) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size[0])[None, :, None] * np.ones((size[1], 1, 3))
    noise = rng.integers(0, 60, (size[1], size[0], 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def edit_map(size: tuple[int, int] = (W, H)) -> np.ndarray:
    edit = np.zeros((size[1], size[0]), np.float32)
    edit[16:56, 24:72] = 1.0
    return edit


def request(
    mode: str, n: int = 1, seed: int = 7, size: tuple[int, int] = (W, H), **kw: Any
) -> Request:
    refs = kw.pop("refs", 1)
    images = [photo(i, size) for i in range(refs)] if mode != "generate" else []
    return Request(
        mode=mode,  # type: ignore[arg-type]
        prompt="a red bicycle leaning on a wall",
        width=size[0],
        height=size[1],
        n=n,
        quality=kw.pop("quality", "low"),
        seed=seed,
        images=images,
        mask=edit_map(size) if mode == "inpaint" else None,
        **kw,
    )


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.int16)


CASES = [(app_id, mode) for app_id, app in APPS.items() for mode in app.pipelines]


@pytest.mark.parametrize(("app_id", "mode"), CASES, ids=[f"{a}-{m}" for a, m in CASES])
def test_every_app_runs_every_mode_it_lists(tiny_models: Path, app_id: str, mode: str) -> None:
    engine = DiffusersEngine(app_id)
    assert engine.unavailable_reason() is None
    app = APPS[app_id]
    refs = min(2, app.inpaint_images if mode == "inpaint" else app.max_images)
    req = request(mode, n=2, refs=refs)
    events = Events()
    images = engine.run(req, events, lambda: False)
    assert [im.size for im in images] == [(W, H)] * 2
    assert all(im.mode == "RGB" for im in images)
    steps = [m for _, m, _ in events.calls if m and m.startswith("step ")]
    assert steps and steps[-1].endswith(f"/{steps[-1].split('/')[1]}")
    fractions = [f for f, _, _ in events.calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert req.meta["model"] == APPS[app_id].model and req.meta["steps"] == 2


def test_seed_repeats_exactly_and_image_i_is_seed_plus_i(tiny_models: Path) -> None:
    engine = DiffusersEngine("diffusers/flux-schnell")
    first = engine.run(request("generate", n=2, seed=11), Events(), lambda: False)
    again = engine.run(request("generate", n=2, seed=11), Events(), lambda: False)
    alone = engine.run(request("generate", n=1, seed=12), Events(), lambda: False)
    other = engine.run(request("generate", n=1, seed=99), Events(), lambda: False)
    assert [im.tobytes() for im in first] == [im.tobytes() for im in again]
    assert first[0].tobytes() != first[1].tobytes()
    assert np.abs(pixels(first[1]) - pixels(alone[0])).max() <= 1  # batched vs alone
    assert first[0].tobytes() != other[0].tobytes()


def test_n_beyond_one_batch_runs_further_calls(
    tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = DiffusersEngine("diffusers/sdxl")
    monkeypatch.setattr(engine, "options", engine.options.model_copy(update={"max_batch": 2}))
    events = Events()
    images = engine.run(request("generate", n=5), events, lambda: False)
    assert len(images) == 5 and len({im.tobytes() for im in images}) == 5
    assert sum(1 for _, m, _ in events.calls if m == "step 1/2") == 3  # 2 + 2 + 1


def test_cancel_stops_between_steps_and_the_pipeline_stays_usable(tiny_models: Path) -> None:
    engine = DiffusersEngine("diffusers/qwen-image")
    events = Events(cancel_at=1)
    with pytest.raises(TaskCancelled):
        engine.run(request("generate", n=1), events, lambda: True)
    assert len(events.calls) == 1  # stopped at the first step's report
    assert len(engine.run(request("generate"), Events(), lambda: False)) == 1


@pytest.mark.parametrize(
    ("app_id", "mode"),
    [("diffusers/flux-schnell", "generate"), ("diffusers/sdxl", "edit")],  # edit: fewer steps
)
def test_previews_come_from_intermediate_latents(tiny_models: Path, app_id: str, mode: str) -> None:
    engine = DiffusersEngine(app_id)
    events = Events()
    engine.run(request(mode, previews=2), events, lambda: False)
    shots = [p for _, _, p in events.calls if p is not None]
    assert shots and all(p.size == (W, H) and p.mode == "RGB" for p in shots)


@pytest.mark.parametrize(
    "app_id",
    [
        "diffusers/flux-fill",
        "diffusers/sdxl-inpaint",
        "diffusers/qwen-image",
        "diffusers/flux2-klein",
        "diffusers/flux-kontext",
    ],
)
def test_kept_pixels_change_in_the_vae_and_the_composite_restores_them(
    tiny_models: Path, app_id: str
) -> None:
    req = request("inpaint", n=1)
    original = req.images[0]
    raw = DiffusersEngine(app_id).run(req, Events(), lambda: False)[0]
    keep = edit_map() == 0
    drift = np.abs(pixels(raw) - pixels(original))[keep]
    assert drift.max() > 0  # the VAE round trip (and the fill) touched pixels we must keep
    final = keep_composite(original, raw, edit_map())
    assert np.array_equal(pixels(final)[keep], pixels(original)[keep])


@pytest.mark.parametrize(
    ("app_id", "mode"),
    [
        ("diffusers/qwen-image-edit-plus", "edit"),
        ("diffusers/flux2-klein", "edit"),
        ("diffusers/flux2-klein", "inpaint"),
        ("diffusers/flux-kontext", "inpaint"),
    ],
)
def test_every_reference_reaches_the_pipeline(
    tiny_models: Path, app_id: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changing only the last image changes the picture: it was passed, not dropped."""
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as plus

    # the 2509 pipeline brings every reference to a megapixel for its VAE and to 384² for its
    # vision encoder whatever the output size: 54 s of CPU for the three runs here (near the
    # test timeout on a loaded machine); what is checked does not depend on that size
    monkeypatch.setattr(plus, "VAE_IMAGE_SIZE", 128 * 128)
    monkeypatch.setattr(plus, "CONDITION_IMAGE_SIZE", 64 * 64)
    engine = DiffusersEngine(app_id)
    app = APPS[app_id]
    refs = app.inpaint_images if mode == "inpaint" else app.max_images
    first = request(mode, refs=refs)
    swapped = request(mode, refs=refs)
    swapped.images = [*swapped.images[:-1], photo(42)]
    a = engine.run(first, Events(), lambda: False)[0]
    b = engine.run(swapped, Events(), lambda: False)[0]
    again = engine.run(request(mode, refs=refs), Events(), lambda: False)[0]
    assert a.tobytes() == again.tobytes()  # the same references: the same picture
    assert a.tobytes() != b.tobytes()


def test_previews_of_flux2_come_from_its_patchified_latents(tiny_models: Path) -> None:
    engine = DiffusersEngine("diffusers/flux2-klein")
    events = Events()
    engine.run(request("generate", previews=1), events, lambda: False)
    shots = [p for _, _, p in events.calls if p is not None]
    assert len(shots) == 1 and shots[0].size == (W, H)


def test_larger_than_native_renders_at_the_ceiling_and_upscales(
    tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = DiffusersEngine("diffusers/sdxl")
    monkeypatch.setattr(engine, "model", dataclasses.replace(engine.model, native_max_edge=64))
    req = request("generate", size=(160, 96))
    images = engine.run(req, Events(), lambda: False)
    assert images[0].size == (160, 96) and req.meta["generated_size"] == "64x40"


def test_vae_tiling_switches_on_above_the_threshold(
    tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = DiffusersEngine("diffusers/flux-schnell")
    monkeypatch.setattr(engine_module, "TILING_PIXELS", 1000)
    engine.run(request("generate"), Events(), lambda: False)
    assert WARM.pipelines["FluxPipeline"].vae.use_tiling
    monkeypatch.setattr(engine_module, "TILING_PIXELS", 10**9)
    engine.run(request("generate"), Events(), lambda: False)
    assert not WARM.pipelines["FluxPipeline"].vae.use_tiling


@pytest.mark.parametrize(
    ("size", "edge", "multiple", "expected"),
    [
        ((1024, 1024), 1440, 16, (1024, 1024)),
        ((2048, 1024), 1440, 16, (1440, 720)),
        ((3840, 2160), 1664, 16, (1664, 928)),
        ((1000, 600), 1024, 8, (1000, 600)),
        ((1000, 600), 1664, 16, (992, 608)),
    ],
)
def test_generation_size(
    size: tuple[int, int], edge: int, multiple: int, expected: tuple[int, int]
) -> None:
    assert generation_size(size, edge, multiple) == expected


def test_mask_goes_in_white_for_repaint() -> None:
    grey = np.asarray(mask_image(edit_map(), (W, H)))
    assert grey[30, 40] == 255 and grey[0, 0] == 0


def test_missing_weights_name_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRUSHWORK_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    engine = DiffusersEngine("diffusers/flux-schnell")
    reason = engine.unavailable_reason()
    assert reason is not None
    assert str(tmp_path / "models" / "flux-schnell") in reason
    assert "brushwork models pull flux-schnell" in reason
    WARM.drop()
    with pytest.raises(FileNotFoundError, match="flux-schnell"):
        engine.load()


def test_weights_are_found_in_the_hugging_face_cache(
    tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = MODELS["flux-schnell"]
    repo_dir = tmp_path / "hub" / "models--black-forest-labs--FLUX.1-schnell"
    snapshot = repo_dir / "snapshots" / "0123abc"
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(tiny_models / "flux-schnell")
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("0123abc")
    monkeypatch.setenv("BRUSHWORK_MODELS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert find_weights(model, tmp_path / "empty") == snapshot
    WARM.drop()
    images = DiffusersEngine("diffusers/flux-schnell").run(
        request("generate"), Events(), lambda: False
    )
    assert images[0].size == (W, H)


def test_no_gpu_and_no_device_setting_is_a_clear_reason(
    tiny_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRUSHWORK_DIFFUSERS_DEVICE", "auto")
    monkeypatch.setattr(engine_module, "gpu_present", lambda: False)
    reason = DiffusersEngine("diffusers/sdxl").unavailable_reason()
    assert reason is not None and "BRUSHWORK_DIFFUSERS_DEVICE=cpu" in reason


def test_first_block_cache_is_left_off_where_the_transformer_cannot_take_it(
    tiny_models: Path,
) -> None:
    from brushwork.engines.diffusion.loading import speed_up
    from brushwork.settings import DiffusersSettings
    from tests.diffusers.synthetic import build

    pipe = build("flux2-klein")
    options = DiffusersSettings(device="cpu", cache_threshold=0.2, compile=False)
    assert speed_up(pipe, options, "cpu") == [
        "no first-block cache (Flux2Transformer2DModel does not take it)"
    ]
    pipe.set_progress_bar_config(disable=True)
    assert pipe(prompt="x", width=32, height=32, num_inference_steps=2).images  # still runs
    flux = build("flux-schnell")
    assert speed_up(flux, options, "cpu") == ["first-block cache 0.2"]
