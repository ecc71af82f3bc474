"""Files: multipart upload and owner-only download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from brushwork.errors import InvalidInput, NotFound, PayloadTooLarge
from brushwork.files.store import safe_filename
from brushwork.imaging.codecs import sniff_format
from brushwork.imaging.limits import MAX_IMAGE_BYTES
from brushwork.server.services import owner, services

router = APIRouter(tags=["files"])


def file_json(record: Any, base: str) -> dict[str, Any]:
    return {
        "id": record.id,
        "uri": f"{base.rstrip('/')}/files/{record.id}",
        "filename": record.filename,
        "content_type": record.content_type,
        "size": record.size,
    }


@router.post("/files", operation_id="upload_file", status_code=201)
async def upload_file(
    request: Request, file: UploadFile, who: str = Depends(owner)
) -> dict[str, Any]:
    svc = services(request)
    data = await file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadTooLarge(f"files are limited to {MAX_IMAGE_BYTES:,} bytes", param="file")
    if not data:
        raise InvalidInput("the uploaded file is empty", param="file")
    fmt = sniff_format(data)
    content_type = f"image/{fmt}" if fmt else (file.content_type or "application/octet-stream")
    record = await run_in_threadpool(
        svc.files.put,
        data,
        owner=who,
        filename=safe_filename(file.filename, "upload"),
        content_type=content_type,
    )
    return file_json(record, svc.files_base(request))


@router.get("/files/{file_id}", operation_id="download_file", response_class=FileResponse)
def download_file(file_id: str, request: Request, who: str = Depends(owner)) -> FileResponse:
    svc = services(request)
    record = svc.store.get_file(file_id, who) if len(file_id) == 32 else None
    if record is None:
        raise NotFound(f"file {file_id!r} not found", param="id")
    return FileResponse(
        svc.files.path(record.id),
        media_type=record.content_type,
        filename=record.filename,
        content_disposition_type="inline",
    )
