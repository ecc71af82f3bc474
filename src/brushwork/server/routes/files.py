"""Files: multipart upload and owner-only download."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from brushwork.contract import FileLink, UploadedFile, iso
from brushwork.errors import Gone, InvalidInput, NotFound, PayloadTooLarge
from brushwork.files.store import safe_filename
from brushwork.imaging.codecs import sniff_format
from brushwork.imaging.limits import MAX_IMAGE_BYTES
from brushwork.server.services import Services, deleted_before, owner, services
from brushwork.signing import check_link, link_query
from brushwork.tasks.store import FileRecord, Store

router = APIRouter(tags=["files"])
LINK_SECRET = "file-links"  # noqa: S105 - the name of a stored secret


def uploaded(record: FileRecord, base: str) -> UploadedFile:
    return UploadedFile(
        id=record.id,
        uri=f"{base.rstrip('/')}/files/{record.id}",
        filename=record.filename,
        content_type=record.content_type,
        size=record.size,
    )


@router.post("/files", operation_id="upload_file", status_code=201, response_model=UploadedFile)
async def upload_file(
    request: Request, file: UploadFile, who: str = Depends(owner)
) -> UploadedFile:
    svc = services(request)
    unknown = sorted(set((await request.form()).keys()) - {"file"})
    if unknown:
        raise InvalidInput(f"unknown form field {unknown[0]!r}; send only 'file'", param=unknown[0])
    data = await file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadTooLarge(f"files are limited to {MAX_IMAGE_BYTES:,} bytes", param="file")
    record = await store_upload(
        svc, data, owner=who, filename=file.filename, content_type=file.content_type
    )
    return uploaded(record, svc.files_base(request))


async def store_upload(
    svc: Services,
    data: bytes,
    *,
    owner: str,
    filename: str | None,
    content_type: str | None,
    file_id: str | None = None,
) -> FileRecord:
    """Keep uploaded bytes (not empty, room left); an image's type is read off its bytes,
    whatever the client said."""
    if not data:
        raise InvalidInput("the uploaded file is empty", param="file")
    svc.require_room(f"the upload ({len(data):,} bytes)")
    fmt = sniff_format(data)
    return await run_in_threadpool(
        svc.files.put,
        data,
        owner=owner,
        filename=safe_filename(filename, "upload"),
        content_type=f"image/{fmt}" if fmt else (content_type or "application/octet-stream"),
        file_id=file_id,
    )


MAX_LINK_SECONDS = 7 * 24 * 3600


@router.post("/files/{file_id}/link", operation_id="link_file", status_code=201)
def link_file(
    file_id: str,
    request: Request,
    who: str = Depends(owner),
    expires_in: int = Query(3600, ge=1, le=MAX_LINK_SECONDS, description="seconds"),
) -> FileLink:
    """A link that downloads the file without a key until it expires."""
    svc = services(request)
    if svc.store.get_file(file_id, who) is None:
        raise NotFound(f"file {file_id!r} not found", param="id")
    url, expires = signed_url(svc.store, svc.files_base(request), file_id, expires_in)
    return FileLink(url=url, expires_at=str(iso(expires)))


def signed_url(store: Store, base: str, file_id: str, expires_in: int) -> tuple[str, int]:
    """A link to ``/files/{id}`` that a plain GET fetches until it expires, and when."""
    expires = int(time.time()) + expires_in
    query = urlencode(link_query(store.server_secret(LINK_SECRET), file_id, expires))
    return f"{base.rstrip('/')}/files/{file_id}?{query}", expires


def _signed(svc: Services, file_id: str, expires: str | None, signature: str | None) -> bool:
    if expires is None or signature is None:
        return False
    check_link(svc.store.server_secret(LINK_SECRET), file_id, expires, signature)
    return True


@router.get("/files/{file_id}", operation_id="download_file", response_class=Response)
def download_file(
    file_id: str,
    request: Request,
    expires: str | None = Query(None),
    signature: str | None = Query(None),
) -> Response:
    """The file's bytes, for its owner (API key) or anyone holding a valid signed link."""
    svc = services(request)
    who = None if _signed(svc, file_id, expires, signature) else owner(request)
    return svc.files.response(owned(svc, file_id, who))


def owned(svc: Services, file_id: str, who: str | None) -> FileRecord:
    """A file of ``who`` (anyone's, for None): 404 when it is not theirs, 410 once expired."""
    record = svc.store.get_file(file_id, who) if len(file_id) == 32 else None
    if record is None:
        raise NotFound(f"file {file_id!r} not found", param="id")
    if record.expired_at is not None:
        raise Gone(
            f"file {file_id!r} is past its retention (BRUSHWORK_KEEP_DAYS) and was deleted",
            param="id",
        )
    return record


@router.delete(
    "/files/{file_id}", operation_id="delete_file", status_code=204, response_class=Response
)
def delete_file(file_id: str, request: Request, who: str = Depends(owner)) -> Response:
    """Delete a file of yours, its bytes too. Deleting it again answers 204; another key's
    file is 404. A task that used it keeps its record; the file's URI then answers 404."""
    return delete(services(request), file_id, who)


def delete(svc: Services, file_id: str, who: str) -> Response:
    if svc.store.get_file(file_id, who) is None:
        return deleted_before(svc, "file", file_id, who)
    svc.files.delete([file_id])  # bytes first: on a full disk that frees room for the record
    svc.store.forget_files([file_id], owner=who)
    return Response(status_code=204)
