"""tus 1.0 over HTTP at ``/api/v1/uploads`` (core + creation, termination, expiration, checksum).

Access: ``OPTIONS`` is public (tus clients and CORS preflights ask it without credentials; it
reveals only the server's capabilities); every other method is for signed-in citizens (Bearer)
and sees only the caller's own uploads and cases (someone else's → 404, never 403).

Protocol choices:

* every response, errors included, carries ``Tus-Resumable: 1.0.0``; a request other than OPTIONS
  without it gets 412 (with ``Tus-Version``);
* creation-with-upload: a POST with ``Content-Type: application/offset+octet-stream`` carries the
  first chunk (same limits and checksum as a PATCH), saving a round trip per file — a whole photo in
  one request. Its 201 says the new ``Upload-Offset``; an error after the upload was created
  carries its ``Location``;
* one PATCH carries at most ``MAX_CHUNK_SIZE`` (8 MiB, the route's ``request_max_body_size``):
  **clients must set their chunk size below it** (tus-js-client ``chunkSize: 5 * 1024 * 1024``,
  tuspy ``chunk_size=...``); a larger body gets 413 and nothing is appended;
* ``204`` to a PATCH means the new ``Upload-Offset`` is fsynced and committed;
* an expired (or rejected) upload answers **410 Gone** to its owner — the client must start a new
  upload; unknown ids and other people's uploads answer 404;
* ``Upload-Checksum: sha256 <base64>`` is checked per PATCH: a mismatch answers 460 and nothing of
  that body is kept;
* the PATCH that completes the upload answers the validation's status (415/413/422 with a Chinese
  message) when the file is refused; the upload is then ``rejected``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, head, patch, post, route
from litestar.datastructures import State
from litestar.params import FromPath, HeaderParameter

from api.core.errors import DomainError, InvalidInput, PreconditionFailed, UnsupportedMedia
from api.core.errors import exception_handlers as base_handlers
from api.core.settings import Settings
from api.identity.guards import require_roles
from api.identity.principal import Principal
from api.uploads import services
from api.uploads.models import Upload

BASE = "/api/v1/uploads"
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
OFFSET_TYPE = "application/offset+octet-stream"
CITIZEN = {"roles": ["citizen"]}
PUBLIC = {"public": True}

CitizenRequest = Request[Principal, Any, State]
TusHeader = Annotated[str | None, HeaderParameter(name="Tus-Resumable", required=False)]


def _with_tus(handler: Any) -> Any:
    def wrapped(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        response.headers["Tus-Resumable"] = TUS_VERSION
        if isinstance(exc, PreconditionFailed):
            response.headers["Tus-Version"] = TUS_VERSION
        if isinstance(exc, services.OffsetMismatch) and exc.offset is not None:
            response.headers["Upload-Offset"] = str(exc.offset)
        return response

    return wrapped


#: Every error of the app, answered with the tus headers (a tus client reads them on errors too).
TUS_EXCEPTION_HANDLERS = {kind: _with_tus(handler) for kind, handler in base_handlers.items()}


def _check_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise PreconditionFailed("客户端的 tus 协议版本不受支持（需要 1.0.0）", "Tus-Resumable: 1.0.0 is required",
                       "Tus-Resumable")


def _int_header(value: str | None, name: str) -> int:
    if value is None or not (value.strip().isascii() and value.strip().isdigit()):  # isdigit alone takes "²"
        raise InvalidInput(f"请求头 {name} 缺失或无效", f"{name} must be a non-negative integer", name)
    return int(value.strip())


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _root(state: State) -> Path:
    settings: Settings = state.settings
    return settings.work_root  # partial uploads stay on this host's disk, whatever the blob store


def _expires(upload: Upload) -> str:
    return upload.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


class UploadController(Controller):
    path = BASE
    tags = ["uploads"]
    exception_handlers = TUS_EXCEPTION_HANDLERS  # type: ignore[assignment]

    @route("", http_method="OPTIONS", opt=PUBLIC, status_code=204, include_in_schema=True,
           summary="tus capabilities (public: no data)")
    async def capabilities(self, state: State) -> Response[None]:
        settings: Settings = state.settings
        return Response(None, status_code=204, headers={
            "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_size), "Tus-Checksum-Algorithm": "sha256",
        })

    @post("", opt=CITIZEN, guards=[require_roles], status_code=201, request_max_body_size=services.MAX_CHUNK_SIZE,
          summary="Create an upload (Upload-Length; Upload-Metadata case_id, material_id, filename), "
                  "optionally with its first chunk (creation-with-upload)")
    async def create(
        self, state: State, request: CitizenRequest, tus_resumable: TusHeader = None,
        upload_length: Annotated[str | None, HeaderParameter(name="Upload-Length", required=False)] = None,
        upload_metadata: Annotated[str | None, HeaderParameter(name="Upload-Metadata", required=False,
                                                               max_length=4096)] = None,
        upload_checksum: Annotated[str | None, HeaderParameter(name="Upload-Checksum", required=False,
                                                               max_length=200)] = None,
    ) -> Response[None]:
        _check_version(tus_resumable)
        if request.headers.get("upload-defer-length"):
            raise InvalidInput("必须声明文件大小", "Upload-Defer-Length is not supported", "Upload-Length")
        length = _int_header(upload_length, "Upload-Length")
        # A body is the first chunk only with the tus content type (creation-with-upload); any
        # other body is not read.
        with_body = _content_type(request) == OFFSET_TYPE
        checksum = services.parse_checksum(upload_checksum) if with_body else None
        upload = await services.create(request.user, _root(state), length,
                                       services.parse_metadata(upload_metadata or ""),
                                       max_size=state.settings.max_upload_size)
        location = f"{BASE}/{upload.id}"
        if with_body:
            try:
                await services.append(request.user, _root(state), state.blobs, upload.id, 0, request.stream(),
                                      checksum, created=upload)
            except DomainError as exc:  # the upload exists: say where, so the client can resume it
                exc.headers = {**(exc.headers or {}), "Location": location}
                raise
        return Response(None, status_code=201, headers=_headers(
            Location=location, **{"Upload-Expires": _expires(upload), "Upload-Offset": str(upload.upload_offset)}))

    # Not in the OpenAPI schema: a HEAD answer never has a body (errors included), which
    # schema-driven clients and the fuzz test expect from every documented error.
    @head("/{id:str}", opt=CITIZEN, guards=[require_roles], include_in_schema=False,
          summary="Where to resume: Upload-Offset")
    async def offset(self, request: CitizenRequest, id: FromPath[str],
                     tus_resumable: TusHeader = None) -> Response[None]:
        _check_version(tus_resumable)
        upload = await services.own_upload(request.user, id)
        return Response(None, status_code=200, headers=_headers(**{
            "Upload-Offset": str(upload.upload_offset), "Upload-Length": str(upload.upload_length),
            "Upload-Expires": _expires(upload),
        }))

    @patch("/{id:str}", opt=CITIZEN, guards=[require_roles], status_code=204,
           request_max_body_size=services.MAX_CHUNK_SIZE,
           summary="Append a chunk (application/offset+octet-stream, Upload-Offset; ≤ 8 MiB per request)")
    async def append(
        self, state: State, request: CitizenRequest, id: FromPath[str], tus_resumable: TusHeader = None,
        upload_offset: Annotated[str | None, HeaderParameter(name="Upload-Offset", required=False)] = None,
        upload_checksum: Annotated[str | None, HeaderParameter(name="Upload-Checksum", required=False,
                                                               max_length=200)] = None,
    ) -> Response[None]:
        _check_version(tus_resumable)
        if _content_type(request) != OFFSET_TYPE:
            raise UnsupportedMedia(f"上传内容的格式必须是 {OFFSET_TYPE}", f"Content-Type must be {OFFSET_TYPE}",
                           "Content-Type")
        offset = _int_header(upload_offset, "Upload-Offset")
        checksum = services.parse_checksum(upload_checksum)
        done = await services.append(request.user, _root(state), state.blobs, id, offset, request.stream(),
                                     checksum)
        return Response(None, status_code=204, headers=_headers(**{
            "Upload-Offset": str(done.upload.upload_offset), "Upload-Expires": _expires(done.upload)}))

    @delete("/{id:str}", opt=CITIZEN, guards=[require_roles], status_code=204,
            summary="Terminate an upload (its received bytes are removed)")
    async def terminate(self, state: State, request: CitizenRequest, id: FromPath[str],
                        tus_resumable: TusHeader = None) -> Response[None]:
        _check_version(tus_resumable)
        await services.terminate(request.user, _root(state), id)
        return Response(None, status_code=204, headers=_headers())


__all__ = ["UploadController"]
