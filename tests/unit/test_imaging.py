"""Decoding with limits, mode normalisation, mask semantics, the keep composite, encoders."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from brushwork.errors import InvalidInput, PayloadTooLarge, UnprocessableImage
from brushwork.imaging import codecs, masks
from brushwork.imaging.composite import keep_composite
from brushwork.imaging.limits import MAX_IMAGE_BYTES
from tests.helpers import alpha_mask, encode, photo, png, png_bomb, rect_mask


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_decodes_each_accepted_format_by_content(fmt: str) -> None:
    decoded = codecs.decode(encode(photo(320, 200), fmt))
    assert decoded.size == (320, 200)
    assert decoded.format == fmt.lower()
    assert decoded.image.mode == "RGB"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"GIF89a" + b"\x00" * 100, encode(photo(64, 64), "BMP")],
    ids=["empty", "text", "gif", "bmp"],
)
def test_unknown_formats_are_refused(data: bytes) -> None:
    with pytest.raises(UnprocessableImage) as info:
        codecs.decode(data, param="images", label="images[0]")
    assert info.value.http_status == 422
    assert info.value.param == "images"
    assert "images[0]" in info.value.message


def test_truncated_file_is_422() -> None:
    data = png(256, 256)
    with pytest.raises(UnprocessableImage):
        codecs.decode(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = png_bomb()
    assert len(bomb) < 2_000_000
    with pytest.raises(PayloadTooLarge) as info:
        codecs.decode(bomb, param="mask")
    assert info.value.http_status == 413 and info.value.param == "mask"


def test_frame_just_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(PayloadTooLarge, match="pixels"):
        codecs.decode(png_bomb(3841, 2160))


def test_over_50_mb_is_413_without_decoding() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES
    with pytest.raises(PayloadTooLarge, match="50 MB"):
        codecs.decode(data)


def test_exif_orientation_is_applied() -> None:
    image = photo(300, 200)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    decoded = codecs.decode(encode(image, "JPEG", exif=exif.tobytes()))
    assert decoded.size == (200, 300)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("P", "RGB"), ("L", "RGB"), ("LA", "RGBA"), ("CMYK", "RGB"), ("RGBA", "RGBA"), ("1", "RGB")],
)
def test_modes_are_normalised(mode: str, expected: str) -> None:
    image = photo(64, 48).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    assert codecs.decode(encode(image, fmt)).image.mode == expected


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    arr = np.full((32, 32), 65535 // 2, np.uint16)
    image = Image.fromarray(arr)
    assert image.mode.startswith("I;16")
    out = np.asarray(codecs.decode(encode(image, "PNG")).image)
    assert 120 <= out.mean() <= 135


def test_alpha_mask_uses_openai_convention() -> None:
    edit = masks.edit_map(alpha_mask(40, 30, (10, 5, 20, 15)))
    assert edit[10, 15] == 1.0 and edit[0, 0] == 0.0
    assert edit.sum() == 10 * 10


def test_opaque_rgba_mask_falls_back_to_luminance() -> None:
    mask = rect_mask(40, 30, (0, 0, 10, 10), "RGBA")
    edit = masks.edit_map(mask)
    assert edit[5, 5] == 1.0 and edit[20, 20] == 0.0


def test_luminance_mask_and_soft_values() -> None:
    arr = np.zeros((10, 10), np.uint8)
    arr[:, 5:] = 255
    arr[0, 0] = 128
    edit = masks.edit_map(Image.fromarray(arr, "L"))
    assert edit[0, 9] == 1.0 and edit[9, 0] == 0.0
    assert edit[0, 0] == pytest.approx(128 / 255)


def test_soft_alpha_blends() -> None:
    arr = np.full((4, 4, 4), 255, np.uint8)
    arr[0, 0, 3] = 64
    edit = masks.edit_map(Image.fromarray(arr, "RGBA"))
    assert edit[0, 0] == pytest.approx(1 - 64 / 255)
    assert edit[3, 3] == 0.0


def test_mask_size_must_match_exactly() -> None:
    masks.check_mask_size((512, 384), (512, 384))
    with pytest.raises(InvalidInput) as info:
        masks.check_mask_size((512, 512), (512, 384))
    assert info.value.param == "mask" and "512x384" in info.value.message


def test_resized_mask_is_area_averaged() -> None:
    edit = np.zeros((100, 100), np.float32)
    edit[:, :50] = 1.0
    small = masks.resize_edit_map(edit, (10, 10))
    assert small[:, :5].min() == 1.0 and small[:, 5:].max() == 0.0


def test_keep_composite_is_exact_where_kept_and_blends_where_soft() -> None:
    original = photo(64, 48, seed=1)
    generated = Image.new("RGB", original.size, (255, 0, 0))
    edit = np.zeros((48, 64), np.float32)
    edit[10:20, 10:20] = 1.0
    edit[30, 30] = 0.5
    out = np.asarray(keep_composite(original, generated, edit))
    orig = np.asarray(original)
    keep = edit == 0
    assert np.array_equal(out[keep], orig[keep])
    assert (out[15, 15] == [255, 0, 0]).all()
    expected = np.rint(orig[30, 30] * 0.5 + np.array([255, 0, 0]) * 0.5)
    assert np.abs(out[30, 30].astype(int) - expected).max() <= 1


def test_keep_composite_keeps_alpha_of_kept_pixels() -> None:
    arr = np.asarray(photo(16, 16).convert("RGBA")).copy()
    arr[:, :, 3] = 77
    original = Image.fromarray(arr, "RGBA")
    edit = np.zeros((16, 16), np.float32)
    edit[:4] = 1.0
    out = np.asarray(keep_composite(original, Image.new("RGB", (16, 16)), edit))
    assert (out[8:, :, 3] == 77).all() and (out[:4, :, 3] == 255).all()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encoders_round_trip(fmt: str) -> None:
    image = photo(200, 120)
    data = codecs.encode(image, fmt, 80)
    assert codecs.sniff_format(data) == fmt
    assert Image.open(io.BytesIO(data)).size == (200, 120)


def test_png_is_lossless_and_compression_changes_lossy_sizes() -> None:
    image = photo(200, 120)
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(codecs.encode(image, "png")))), np.asarray(image)
    )
    for fmt in ("jpeg", "webp"):
        assert len(codecs.encode(image, fmt, 20)) < len(codecs.encode(image, fmt, 95))
