"""Turn the file references in an app input into stored, validated files before a task exists.

A reference may be a file uri of this server, a ``/files/{id}`` path, an
http(s) URL (fetched with the SSRF guard), a ``data:`` URI or bare base64.
Each is decoded once here with every limit checked, so bad images are refused
with a 4xx before anything is queued and never reach an engine.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from brushwork.contract import AppInput
from brushwork.errors import Gone, InvalidInput, NotFound, PayloadTooLarge
from brushwork.files import fetch
from brushwork.imaging import codecs, masks
from brushwork.imaging.limits import MAX_IMAGE_BYTES, MAX_MASK_BYTES
from brushwork.server.services import Services

_FILE_PATH = re.compile(r"(?:.*)/files/([0-9a-f]{32})/?")
_BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\s]+")


@dataclass
class Resolved:
    input: dict[str, Any]  # the input as recorded on the task: file references as uris
    file_ids: dict[str, Any]  # {"images": [ids], "mask": id | None}
    log: str
    created: list[str]  # the files stored for this call (removed again if it is refused)


def resolve(
    inp: AppInput, owner: str, svc: Services, files_base: str, *, chained: bool = False
) -> Resolved:
    """Check every reference first; store new bytes only once all pass (a refusal stores none).
    ``chained``: a session call editing its latest output; the mask's size is checked when the
    call runs, against that image."""
    loaded = []  # (bytes, existing file id, format, stem)
    first = None
    for i, ref in enumerate(inp.images):
        data, existing = load(ref, owner, svc, files_base, param="images", label=f"images[{i}]")
        decoded = codecs.decode(data, param="images", label=f"images[{i}]")
        first = first or decoded
        loaded.append((data, existing, decoded.format, f"image-{i}"))
    if inp.mask is not None:
        assert first is not None or chained  # AppInput refuses a mask without images
        data, existing = load(
            inp.mask, owner, svc, files_base, param="mask", label="mask", limit=MAX_MASK_BYTES
        )
        decoded = codecs.decode(data, param="mask", limit=MAX_MASK_BYTES)
        if first is not None:
            masks.check_mask_size(decoded.size, first.size)
        loaded.append((data, existing, decoded.format, "mask"))
    _, note = inp.resolve_size(first.size if first else None)
    ids, created = [], []
    try:
        for data, existing, fmt, stem in loaded:
            if existing is None:
                existing = store_bytes(data, fmt, owner, svc, stem)
                created.append(existing)
            ids.append(existing)
    except Exception:
        discard(svc, created)  # a refusal stores none
        raise
    image_ids, mask_id = (ids[:-1], ids[-1]) if inp.mask is not None else (ids, None)
    record = inp.model_dump(exclude_none=True, exclude_defaults=False)
    base = files_base.rstrip("/")
    record["images"] = [f"{base}/files/{fid}" for fid in image_ids]
    if mask_id:
        record["mask"] = f"{base}/files/{mask_id}"
    log = note + "\n" if note else ""
    return Resolved(record, {"images": image_ids, "mask": mask_id}, log, created)


def discard(svc: Services, file_ids: list[str]) -> None:
    """Remove files stored for a call that did not become a task (best effort: what stays is
    found by ``brushwork files check``)."""
    if not file_ids:
        return
    with contextlib.suppress(Exception):
        svc.store.forget_files(file_ids)
        svc.files.delete(file_ids)


def store_bytes(data: bytes, fmt: str, owner: str, svc: Services, stem: str) -> str:
    """Keep a decoded input's bytes as a file of ``owner``; its id."""
    ext = "jpg" if fmt == "jpeg" else fmt
    record = svc.files.put(data, owner=owner, filename=f"{stem}.{ext}", content_type=f"image/{fmt}")
    return record.id


def load(
    ref: str,
    owner: str,
    svc: Services,
    files_base: str,
    *,
    param: str,
    label: str,
    limit: int = MAX_IMAGE_BYTES,
) -> tuple[bytes, str | None]:
    """The bytes a reference points at, and the stored file id when it is one of ours."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(f"{label} must be a non-empty string", param=param)
    ref = ref.strip()
    own = _own_file_id(ref, files_base)
    if own is not None:
        record = svc.store.get_file(own, owner)
        if record is None:  # someone else's file looks exactly like a missing one
            raise NotFound(f"{label}: file {own} not found", param=param)
        if record.expired_at is not None:
            raise Gone(f"{label}: file {own} is past its retention and was deleted", param=param)
        return svc.files.read(record.id), record.id
    if ref.startswith(("http://", "https://")):
        policy = svc.settings.url_policy
        return fetch.fetch(ref, param=param, max_bytes=limit, policy=policy), None
    if ref.startswith("data:"):
        header, sep, payload = ref.partition(",")
        if not sep or ";base64" not in header:
            raise InvalidInput(f"{label}: a data URI must be base64-encoded", param=param)
        return _b64(payload, param, label, limit), None
    return _b64(ref, param, label, limit), None


def _own_file_id(ref: str, files_base: str) -> str | None:
    """The file id when ``ref`` names a file of this server (its uri or ``/files/{id}``)."""
    if ref.startswith(("http://", "https://")):
        if not ref.startswith(files_base.rstrip("/") + "/files/"):
            return None
        ref = urlsplit(ref).path
    match = _FILE_PATH.fullmatch(ref)
    return match.group(1) if match else None


def _b64(payload: str, param: str, label: str, limit: int) -> bytes:
    if len(payload) * 3 // 4 > limit + 3:
        raise PayloadTooLarge(f"{label} is over {limit:,} bytes", param=param)
    if not _BASE64.fullmatch(payload):
        raise InvalidInput(
            f"{label} is not a file uri, http(s) URL, data URI or base64 image", param=param
        )
    cleaned = re.sub(r"\s+", "", payload)
    try:
        altchars = b"-_" if ("-" in cleaned or "_" in cleaned) else None
        return base64.b64decode(
            cleaned + "=" * (-len(cleaned) % 4), altchars=altchars, validate=True
        )
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{label} is not valid base64", param=param) from None
