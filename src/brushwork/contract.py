"""The gpt-image-2 app contract (SPEC §1, §3, §5, §6) as code: the one source of its rules.

This module owns the input schema (:class:`AppInput`), the size rules and the
separate :func:`fit_size` helper, the task status numbers, the output shape and
the gpt-image-2 token/price estimate, and the typed answers of the API
(:class:`Task`, :class:`FileRef`, :class:`AppInfo`, the webhook payload, the
OpenAI-compatible responses and stream events). The server validates with it and
renders its answers from it, the OpenAPI and the web form are generated from it,
the SDK and CLI read it. It depends on pydantic and the standard library only (the
SDK imports it), and it never decodes images: rules about decoded pixels live in
``imaging``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from brushwork.errors import InvalidInput

# SPEC §1 numbers, named once.
MIN_EDGE, MAX_EDGE, EDGE_MULTIPLE = 256, 3840, 16
MAX_RATIO = 3
MIN_PIXELS, MAX_PIXELS = 655_360, 8_294_400
DEFAULT_SIZE = 1024
MAX_PROMPT = 32_000
MAX_IMAGES = 16
MAX_N = 10

Quality = Literal["auto", "low", "medium", "high"]
ResolvedQuality = Literal["low", "medium", "high"]
OutputFormat = Literal["png", "jpeg", "webp"]
Mode = Literal["generate", "edit", "inpaint"]
Background = Literal["auto", "opaque", "transparent"]
_ASKS_TRANSPARENT = re.compile(
    r"\b(transparent|see-through|no|without( a)?) background\b|\bstickers?\b|\bcut-?out\b"
    r"|\bbackground-?less\b|\bisolated on (nothing|transparency)\b",
    re.IGNORECASE,
)

CONTENT_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


class TaskStatus(IntEnum):
    """SPEC §5 status numbers; the names are accepted and returned as ``status_name``."""

    RECEIVED = 1
    QUEUED = 2
    SCHEDULED = 3
    PREPARING = 4
    SERVING = 5
    SETTING_UP = 6
    RUNNING = 7
    UPLOADING = 8
    COMPLETED = 9
    FAILED = 10
    CANCELLED = 11

    def is_terminal(self) -> bool:
        return self >= TaskStatus.COMPLETED

    @classmethod
    def parse(cls, value: int | str) -> TaskStatus:
        """Accept a number or a name (any case), as the platform does."""
        if isinstance(value, str) and not value.isdigit():
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise InvalidInput(f"unknown status {value!r}", param="status") from None
        try:
            return cls(int(value))
        except ValueError:
            raise InvalidInput(f"unknown status {value!r}", param="status") from None


TERMINAL = tuple(s for s in TaskStatus if s.is_terminal())


# ---------------------------------------------------------------- sizes


def check_edge(name: str, value: int) -> None:
    """One edge's own rules; raises InvalidInput naming the rule and the value."""
    if not MIN_EDGE <= value <= MAX_EDGE:
        raise InvalidInput(
            f"{name} must be between {MIN_EDGE} and {MAX_EDGE}, got {value}", param=name
        )
    if value % EDGE_MULTIPLE:
        raise InvalidInput(f"{name} must be a multiple of {EDGE_MULTIPLE}, got {value}", param=name)


def check_size(width: int, height: int) -> None:
    """Every SPEC §1 size rule, in a fixed order; never rounds."""
    check_edge("width", width)
    check_edge("height", height)
    long, short = max(width, height), min(width, height)
    if long > MAX_RATIO * short:
        raise InvalidInput(
            f"the long/short edge ratio must be at most {MAX_RATIO}, "
            f"got {width}x{height} (ratio {long / short:.2f})",
            param="width" if width >= height else "height",
        )
    if not MIN_PIXELS <= width * height <= MAX_PIXELS:
        raise InvalidInput(
            f"width*height must be between {MIN_PIXELS:,} and {MAX_PIXELS:,} pixels, "
            f"got {width}x{height} = {width * height:,}",
            param="width",
        )


def is_valid_size(width: int, height: int) -> bool:
    try:
        check_size(width, height)
    except InvalidInput:
        return False
    return True


def fit_size(width: int, height: int) -> tuple[int, int]:
    """The valid size nearest to ``width`` x ``height``: same aspect first, then same area.

    The explicit helper behind ``--fit``; validation itself never rounds.
    """
    if width <= 0 or height <= 0:
        raise InvalidInput(f"size must be positive, got {width}x{height}", param="width")
    if is_valid_size(width, height):
        return width, height
    ratio = math.log(min(max(width / height, 1 / MAX_RATIO), MAX_RATIO))
    area = math.log(min(max(width * height, MIN_PIXELS), MAX_PIXELS))
    best: tuple[float, int, int] | None = None
    for w in range(MIN_EDGE, MAX_EDGE + 1, EDGE_MULTIPLE):
        ideal_h = w / math.exp(ratio)
        base = int(ideal_h // EDGE_MULTIPLE) * EDGE_MULTIPLE
        for h in (base - EDGE_MULTIPLE, base, base + EDGE_MULTIPLE, base + 2 * EDGE_MULTIPLE):
            if not is_valid_size(w, h):
                continue
            score = 4 * abs(math.log(w / h) - ratio) + abs(math.log(w * h) - area)
            if best is None or score < best[0]:
                best = (score, w, h)
    assert best is not None  # 1024x1024 is always a candidate
    return best[1], best[2]


def parse_size(text: str) -> tuple[int, int]:
    """``"1536x1024"`` → (1536, 1024); the rules are checked separately."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*", text)
    if not match:
        raise InvalidInput(f"size must look like WIDTHxHEIGHT, got {text!r}", param="size")
    return int(match.group(1)), int(match.group(2))


# ---------------------------------------------------------------- input

# Validation context of a session call without ``images`` (SPEC §8): it edits the session's
# latest output, so a ``mask`` alone is fine; the mask's size is checked when the call runs.
CHAINED = "chained"
MIN_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT, DEFAULT_SESSION_TIMEOUT = 1, 3600, 60

_SIZE_SCHEMA: dict[str, Any] = {
    "minimum": MIN_EDGE,
    "maximum": MAX_EDGE,
    "multipleOf": EDGE_MULTIPLE,
}


class AppInput(BaseModel):
    """SPEC §1: one input schema for every engine. Files are references (uri, URL, data, base64)."""

    model_config = ConfigDict(
        extra="forbid",
        title="AppInput",
        # the joint size rules, for forms that check as you type (the web playground)
        json_schema_extra={
            "x-size-rules": {
                "multiple": EDGE_MULTIPLE,
                "min_edge": MIN_EDGE,
                "max_edge": MAX_EDGE,
                "max_ratio": MAX_RATIO,
                "min_pixels": MIN_PIXELS,
                "max_pixels": MAX_PIXELS,
            }
        },
    )

    prompt: str = Field(description="What to draw or how to edit; 1..32000 characters.")
    images: list[str] = Field(
        default_factory=list,
        description="0..16 reference images: file uri, http(s) URL, data URI or base64.",
    )
    mask: str | None = Field(
        None, description="Inpainting mask for the first image, exactly its size."
    )
    width: int | None = Field(
        None,
        description="Output width; default 1024, or the first image's size when editing.",
        json_schema_extra=_SIZE_SCHEMA,
    )
    height: int | None = Field(
        None,
        description="Output height; default 1024, or the first image's size when editing.",
        json_schema_extra=_SIZE_SCHEMA,
    )
    quality: Quality = Field("auto", description="auto resolves to medium.")
    n: int = Field(1, ge=1, le=MAX_N, description="How many independent variations.")
    output_format: OutputFormat = "png"
    output_compression: int | None = Field(
        None, ge=0, le=100, description="jpeg/webp quality (100 = best); ignored for png."
    )
    moderation: Literal["auto", "low"] = "auto"
    background: Background = Field(
        "auto",
        description="transparent needs png or webp; auto is opaque unless the prompt asks "
        "for a transparent background or a sticker.",
    )
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="Same seed + input + engine = same pixels."
    )

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> AppInput:
        stripped = self.prompt.strip()
        if not stripped:
            raise InvalidInput("prompt must not be empty", param="prompt")
        if len(stripped) > MAX_PROMPT:
            raise InvalidInput(
                f"prompt must be at most {MAX_PROMPT} characters, got {len(stripped)}",
                param="prompt",
            )
        control = next((i for i, ch in enumerate(self.prompt) if _is_control(ch)), None)
        if control is not None:
            raise InvalidInput(
                f"prompt contains the control character U+{ord(self.prompt[control]):04X} "
                f"at position {control}; only tabs and line breaks are allowed",
                param="prompt",
            )
        if len(self.images) > MAX_IMAGES:
            raise InvalidInput(
                f"images may hold at most {MAX_IMAGES} files, got {len(self.images)}",
                param="images",
            )
        chained = bool(info.context and info.context.get(CHAINED))
        if self.mask is not None and not self.images and not chained:
            raise InvalidInput("mask requires at least one image in images", param="mask")
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None:
                check_edge(name, value)
        if not self.images or (self.width is not None and self.height is not None):
            check_size(self.width or DEFAULT_SIZE, self.height or DEFAULT_SIZE)
        if self.background == "transparent" and self.output_format == "jpeg":
            raise InvalidInput(
                "background transparent needs output_format png or webp (jpeg has no alpha)",
                param="background",
            )
        return self

    @property
    def resolved_background(self) -> Literal["opaque", "transparent"]:
        """``auto`` is opaque unless the prompt asks for see-through (and the format has
        alpha: a jpeg is always opaque)."""
        return resolve_background(self.background, self.prompt, self.output_format)

    @property
    def mode(self) -> Mode:
        if not self.images:
            return "generate"
        return "inpaint" if self.mask is not None else "edit"

    @property
    def resolved_quality(self) -> ResolvedQuality:
        return "medium" if self.quality == "auto" else self.quality

    def resolve_size(self, first_image: tuple[int, int] | None) -> tuple[tuple[int, int], str]:
        """The output size, and a log line when it was derived from the first image."""
        if first_image is None or self.width is not None or self.height is not None:
            return (self.width or DEFAULT_SIZE, self.height or DEFAULT_SIZE), ""
        w, h = first_image
        if is_valid_size(w, h):
            return (w, h), f"output size {w}x{h} taken from the first image"
        fw, fh = fit_size(w, h)
        return (fw, fh), (
            f"the first image is {w}x{h}, which breaks the size rules; "
            f"output size is the nearest valid size {fw}x{fh}"
        )


def resolve_background(
    background: str, prompt: str, output_format: str
) -> Literal["opaque", "transparent"]:
    """What ``auto`` means for this prompt and format (SPEC §1)."""
    if background in ("opaque", "transparent"):
        return "transparent" if background == "transparent" else "opaque"
    if output_format != "jpeg" and _ASKS_TRANSPARENT.search(prompt):
        return "transparent"
    return "opaque"


def _is_control(ch: str) -> bool:
    """C0/C1 control characters other than tab and line breaks (never part of a picture)."""
    return unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"


def parse_input(raw: Any, *, chained: bool = False) -> AppInput:
    """Validate a raw ``input`` object; every failure is InvalidInput with ``param`` set.
    ``chained``: a session call without images (a mask alone is then allowed)."""
    if not isinstance(raw, dict):
        raise InvalidInput("input must be a JSON object", param="input")
    try:
        return AppInput.model_validate(raw, context={CHAINED: chained})
    except ValidationError as exc:
        raise input_error(dict(exc.errors()[0])) from None


_BOUNDS = {"n": (1, MAX_N), "output_compression": (0, 100), "seed": (0, 2**63 - 1)}


def input_error(err: dict[str, Any]) -> InvalidInput:
    """One pydantic error of an app input (``loc`` inside the input) → one message that names
    the rule and the value."""
    loc = [str(p) for p in err["loc"]]
    if not loc and err["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        return InvalidInput("input must be a JSON object", param="input")
    param = loc[0] if loc else None
    value = err.get("input")
    kind = err["type"]
    if kind == "missing":
        return InvalidInput(f"{param} is required", param=param)
    if kind == "extra_forbidden":
        return InvalidInput(f"unknown field {param!r}", param=param)
    if kind in {"greater_than_equal", "less_than_equal"} and param in _BOUNDS:
        lo, hi = _BOUNDS[param]
        return InvalidInput(f"{param} must be between {lo} and {hi}, got {value}", param=param)
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return InvalidInput(f"{param} must be one of {expected}, got {value!r}", param=param)
    where = ".".join(loc) or "input"
    return InvalidInput(f"{where}: {err['msg']}, got {str(value)[:80]!r}", param=param)


# ---------------------------------------------------------------- the masks app

MaskMode = Literal["subject", "background", "point", "box", "colour", "text"]


class MaskInput(BaseModel):
    """SPEC §10: ``brushwork/masks``, a selection in one click."""

    model_config = ConfigDict(extra="forbid", title="MaskInput")

    image: str = Field(description="The picture: file uri, http(s) URL, data URI or base64.")
    mode: MaskMode = Field(description="What to select.")
    points: list[list[float]] | None = Field(
        None, description="point: [[x, y], ...] in the image's pixels."
    )
    labels: list[int] | None = Field(
        None, description="point: 1 (include) or 0 (exclude) per point; default all 1."
    )
    box: list[float] | None = Field(None, description="box: [x0, y0, x1, y1] in pixels.")
    text: str | None = Field(
        None, max_length=500, description='colour: "the red car"; text: "the sky".'
    )
    grow: int = Field(0, ge=-512, le=512, description="Pixels outward (negative: inward).")
    feather: int = Field(0, ge=0, le=256, description="Pixels of soft edge.")
    invert: bool = Field(False, description="Select the rest.")


def parse_mask_input(raw: Any) -> MaskInput:
    """Validate a raw masks ``input``; every failure is InvalidInput with ``param`` set."""
    if not isinstance(raw, dict):
        raise InvalidInput("input must be a JSON object", param="input")
    try:
        return MaskInput.model_validate(raw)
    except ValidationError as exc:
        raise input_error(dict(exc.errors()[0])) from None


# ---------------------------------------------------------------- output and pricing

GPT_IMAGE_2_TILES: dict[str, int] = {"low": 16, "medium": 48, "high": 96}
USD_PER_OUTPUT_TOKEN = 30 / 1_000_000
USD_PER_TEXT_INPUT_TOKEN = 5 / 1_000_000


def image_output_tokens(width: int, height: int, quality: ResolvedQuality) -> int:
    """The published gpt-image-2 output-token formula (1024x1024 high = 7024)."""
    tiles = GPT_IMAGE_2_TILES[quality]
    long, short = max(width, height), min(width, height)
    short_tiles = math.floor(tiles * short / long + 0.5)
    tiles_w, tiles_h = (tiles, short_tiles) if width >= height else (short_tiles, tiles)
    return math.ceil(tiles_w * tiles_h * (2_000_000 + width * height) / 4_000_000)


def image_input_tokens(width: int, height: int) -> int:
    """Tokens for a reference image, by OpenAI's vision rule: fit in 2048x2048, then the
    short side to at most 768; 85 tokens plus 170 per 512-pixel tile."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def text_tokens(prompt: str) -> int:
    """An offline estimate of a prompt's token count: words, numbers, symbols, ~4 chars a word."""
    pieces = re.findall(r"\w+|[^\w\s]", prompt)
    return sum(max(1, math.ceil(len(p) / 4)) for p in pieces)


def output_meta(
    *,
    prompt: str,
    input_sizes: list[tuple[int, int]],
    width: int,
    height: int,
    n: int,
    mode: Mode,
    quality: ResolvedQuality,
    engine: str,
    priced: bool,
) -> dict[str, Any]:
    """SPEC §3 output_meta, read from the real outputs; ``cost`` only where the app is priced."""
    tokens_in = text_tokens(prompt)
    inputs: list[dict[str, Any]] = [{"type": "text", "tokens": tokens_in}]
    for (w, h), count in _count_sizes(input_sizes).items():
        inputs.append({"type": "image", "width": w, "height": h, "count": count})
    tokens_out = n * image_output_tokens(width, height, quality)
    meta: dict[str, Any] = {
        "inputs": inputs,
        "outputs": [
            {
                "type": "image",
                "width": width,
                "height": height,
                "count": n,
                "extra": {"mode": mode, "quality": quality, "engine": engine},
            }
        ],
        "usage": {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }
    if priced:
        usd = tokens_out * USD_PER_OUTPUT_TOKEN + tokens_in * USD_PER_TEXT_INPUT_TOKEN
        meta["cost"] = {"currency": "USD", "estimated": round(usd, 6)}
    return meta


def _count_sizes(sizes: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for size in sizes:
        counts[size] = counts.get(size, 0) + 1
    return counts


# ---------------------------------------------------------------- typed answers (SPEC §3, §5)
#
# What the API returns, as models: the routes render these, the OpenAPI documents them, and
# generated clients are built from that OpenAPI. Each keeps the exact JSON the API has always
# sent; ``extra="allow"`` marks the places where engines add their own keys.


def iso(ts: float | None) -> str | None:
    """A stored epoch time as the API shows it (ISO 8601, UTC)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


class FileRef(BaseModel):
    """A stored file as an output lists it (SPEC §3): ``uri`` returns the bytes to the owner."""

    uri: str
    filename: str
    content_type: str
    size: int


class PreviewRef(FileRef):
    """A partial render published on a task's stream."""

    partial_image_index: int


class UploadedFile(FileRef):
    """``POST /files``: the upload's id and where it lives."""

    id: str


class FileLink(BaseModel):
    """``POST /files/{id}/link``: a URL that downloads the file without a key until it expires."""

    url: str
    expires_at: str


class TextInputMeta(BaseModel):
    type: Literal["text"] = "text"
    tokens: int


class ImageInputMeta(BaseModel):
    type: Literal["image"] = "image"
    width: int
    height: int
    count: int


class OutputExtra(BaseModel):
    model_config = ConfigDict(extra="allow")

    mode: Mode
    quality: ResolvedQuality
    engine: str


class ImageOutputMeta(BaseModel):
    type: Literal["image"] = "image"
    width: int
    height: int
    count: int
    extra: OutputExtra


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class Cost(BaseModel):
    currency: Literal["USD"] = "USD"
    estimated: float


class OutputMeta(BaseModel):
    """SPEC §3 ``output_meta``: what pricing needs, read from the real outputs. Engines add
    their own keys beside these (``seed``, ``timings``, ``attributions``, notes)."""

    model_config = ConfigDict(extra="allow")

    inputs: list[TextInputMeta | ImageInputMeta]
    outputs: list[ImageOutputMeta]
    usage: Usage
    cost: Cost | None = Field(None, description="only where the app has a price table")


class AppOutput(BaseModel):
    """SPEC §3: exactly ``n`` images and the metadata pricing needs."""

    images: list[FileRef]
    output_meta: OutputMeta


class MaskOutput(BaseModel):
    """SPEC §10: the selection three ways, where it is and how much of the picture."""

    mask: FileRef = Field(description="PNG, L mode, 255 = selected")
    alpha_mask: FileRef = Field(
        description="PNG RGBA, alpha 0 = selected: OpenAI's edit convention, ready as mask"
    )
    preview: FileRef = Field(description="the picture with the selection tinted")
    box: list[int] | None = Field(description="[x0, y0, x1, y1]; null when nothing was selected")
    area: float = Field(ge=0, le=1, description="the selected share of the picture")
    output_meta: dict[str, Any]


class ErrorInfo(BaseModel):
    """The SPEC §4 error fields, as a failed task carries them."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class WebhookAttempt(BaseModel):
    """One delivery attempt of a task's webhook, recorded on the task."""

    attempt: int
    webhook_id: str
    at: int
    status_code: int | None
    error: str | None
    duration_ms: float


class Task(BaseModel):
    """The SPEC §5 task envelope, as every route, stream and webhook shows it."""

    id: str
    app: str
    status: TaskStatus
    status_name: str
    input: dict[str, Any] = Field(description="the app input as recorded (file references)")
    output: AppOutput | MaskOutput | None
    error: ErrorInfo | None
    logs: str
    progress: int = Field(ge=0, le=100)
    session_id: str | None
    parent_id: str | None = Field(None, description="in a session: the call this one edits")
    webhook: str | None
    webhook_state: Literal["pending", "delivered", "failed"] | None
    webhook_attempts: list[WebhookAttempt]
    created_at: str
    updated_at: str
    started_at: str | None
    completed_at: str | None

    @classmethod
    def from_record(cls, row: Mapping[str, Any], files_base: str) -> Task:
        """A stored task (epoch times, ``/files/{id}`` URIs) as the API shows it."""
        status = TaskStatus(row["status"])
        # the store wrote these values through this contract: constructed, not re-validated
        # (rendering stays cheap); tests validate recorded answers against the model
        fields: dict[str, Any] = {
            "id": row["id"],
            "app": row["app"],
            "status": status,
            "status_name": status.name,
            "input": row["input"],
            "output": absolute_output(row["output"], files_base),
            "error": row["error"],
            "logs": row["logs"],
            "progress": row["progress"],
            "session_id": row["session_id"],
            "parent_id": row.get("parent_id"),
            "webhook": row["webhook"],
            "webhook_state": row["webhook_state"],
            "webhook_attempts": row["webhook_attempts"] or [],
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            "started_at": iso(row["started_at"]),
            "completed_at": iso(row["completed_at"]),
        }
        return cls.model_construct(**fields)

    def to_json(self) -> dict[str, Any]:
        """The JSON body; built from stored values, so it is dumped without re-validation."""
        return {name: getattr(self, name) for name in type(self).model_fields} | {
            "status": int(self.status)
        }


def absolute_output(output: Mapping[str, Any] | None, files_base: str) -> dict[str, Any] | None:
    """Stored outputs hold ``/files/{id}``; clients get ``{base}/files/{id}``. A copy."""
    base = files_base.rstrip("/")
    return map_files(output, lambda uri: base + uri if uri.startswith("/") else uri)


def map_files(
    output: Mapping[str, Any] | None, change: Callable[[str], str]
) -> dict[str, Any] | None:
    """A copy of an output (either app kind's) with ``change`` applied to every file URI: the
    values that are file references, and the lists of them (``images``)."""
    if output is None:
        return None

    def ref(value: Any) -> Any:
        if isinstance(value, Mapping) and isinstance(value.get("uri"), str):
            return {**value, "uri": change(value["uri"])}
        return value

    return {
        key: [ref(v) for v in value] if isinstance(value, list) else ref(value)
        for key, value in output.items()
    }


def file_uris(output: Mapping[str, Any] | None) -> list[str]:
    """Every file URI an output names, in order."""
    found: list[str] = []

    def keep(uri: str) -> str:
        found.append(uri)
        return uri

    map_files(output, keep)
    return found


class TaskUpdate(BaseModel):
    """One ``update`` event of ``GET /tasks/{id}/stream`` (its SSE id replays from there)."""

    id: str
    at: float = Field(description="when it happened, epoch seconds")
    status: TaskStatus
    status_name: str
    progress: int
    logs: str | None = None
    output: AppOutput | None = None
    error: ErrorInfo | None = None
    preview: PreviewRef | None = None


class TaskPage(BaseModel):
    """``GET /tasks``: newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    data: list[Task]
    has_more: bool
    next_cursor: str | None


class Session(BaseModel):
    """SPEC §8: ``GET /sessions/{id}``, the version history an editor draws."""

    id: str
    app: str
    status: Literal["active", "ended", "expired"]
    created_at: str
    expires_at: str
    ended_at: str | None
    idle_timeout: int = Field(description="idle seconds before it expires")
    call_count: int
    last_call_at: str | None
    tasks: list[str] = Field(description="its calls, oldest first")
    latest: FileRef | None = Field(description="the first image of its last completed call")


class SessionPage(BaseModel):
    data: list[Session]
    has_more: bool
    next_cursor: str | None


class WebhookPayload(BaseModel):
    """SPEC §5: the body POSTed to a task's webhook when it reaches 9, 10 or 11."""

    id: str
    status: TaskStatus
    output: AppOutput | None
    error: ErrorInfo | None
    session_id: str | None
    created_at: str
    updated_at: str


class AssetLicence(BaseModel):
    license: str
    attribution: str
    model_config = ConfigDict(extra="allow")


class ModelInfo(BaseModel):
    """A diffusers app's weights: which model, where on this machine, under what licence."""

    name: str
    repo: str
    license: str
    weights: str | None
    steps: dict[str, int]


class AppInfo(BaseModel):
    """``GET /apps`` (a listing) and ``GET /apps/{namespace}/{name}`` (with schemas)."""

    model_config = ConfigDict(extra="allow")  # an engine's own details (plugins)

    id: str
    namespace: str
    name: str
    description: str
    engine: str
    available: bool
    unavailable_reason: str | None = Field(description="why it cannot run here, or null")
    modes: list[Mode] | None = Field(None, description="null when the engine cannot be imported")
    max_images: int | None = Field(None, description="reference images an edit takes")
    inpaint_images: int | None = Field(
        None, description="images an inpaint takes: the picture, then references for the fill"
    )
    device: str | None = None
    assets: dict[str, AssetLicence] | None = Field(
        None, description="the studio's asset sources with licence and attribution"
    )
    model: ModelInfo | None = None
    input_schema: dict[str, Any] | None = Field(None, description="JSON schema (describe only)")
    output_schema: dict[str, Any] | None = Field(None, description="JSON schema (describe only)")


class AppList(BaseModel):
    data: list[AppInfo]


class Health(BaseModel):
    """``GET /health``: 200 ``ok`` when the store and the queue answer, else 503 ``degraded``
    naming what does not (``checks``)."""

    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, str]
    storage: Literal["ok", "full"] = Field("ok", description="the disk, or the bucket's last write")
    queue_depth: int | None = Field(None, description="only when ok")
    workers: int | None = Field(None, description="worker processes seen recently (when ok)")


# ---------------------------------------------------------------- OpenAI-compatible (SPEC §6)


class ImageData(BaseModel):
    b64_json: str | None = None
    url: str | None = None


class InputTokensDetails(BaseModel):
    text_tokens: int
    image_tokens: int


class ImagesUsage(Usage):
    input_tokens_details: InputTokensDetails


class ImagesResponse(BaseModel):
    """OpenAI's Images API answer, as ``/v1/images/generations`` and ``/edits`` send it."""

    created: int
    data: list[ImageData]
    size: str
    quality: ResolvedQuality
    output_format: OutputFormat
    background: Literal["opaque", "transparent"]
    usage: ImagesUsage


class ImageStreamEvent(BaseModel):
    """One server-sent event of a streamed image call: ``image_generation.partial_image`` /
    ``.completed`` (edits: ``image_edit.*``); ``usage`` only on completed events."""

    type: Literal[
        "image_generation.partial_image",
        "image_generation.completed",
        "image_edit.partial_image",
        "image_edit.completed",
    ]
    b64_json: str
    created_at: int
    size: str
    quality: str
    background: str
    output_format: str
    partial_image_index: int | None = None
    usage: ImagesUsage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "brushwork"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
