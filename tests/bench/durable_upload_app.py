"""The durable floor for uploads: the bare endpoint plus the work any durable, content-addressed
upload must do — the uploads service's own receive pipeline (SHA-256 of every byte, direct writes
to a new file, fsync) — and nothing else: no tus, no sign-in, no database, no validation, no
blob store. tus's distance to this floor is what the protocol, the database and validation cost;
the floor's distance to the bare endpoint is what hashing and writing durably cost.

It calls the service's internals (``_Partial``, ``_receive``) on purpose: the same code as a PATCH.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from litestar import Litestar, Request, Response, get, post
from litestar.background_tasks import BackgroundTask

from api.uploads import services

ROOT = Path(os.environ.get("ZHENGWU_VAR_DIR") or tempfile.mkdtemp()) / "durable-floor"


@dataclass
class _Upload:  # the two fields the receive pipeline reads
    id: str
    upload_length: int


@post("/bare", status_code=204, request_max_body_size=services.MAX_CHUNK_SIZE)
async def durable(request: Request) -> Response[None]:
    upload_id = uuid.uuid4().hex
    path = ROOT / upload_id
    length = int(request.headers.get("content-length") or 0)
    partial = services._Partial(path, 0, upload_id)  # as a PATCH at offset 0 opens it
    try:
        await services._receive(partial, request.stream(), _Upload(upload_id, length), None)  # type: ignore[arg-type]
        partial.digest.hexdigest()
    finally:
        partial.close()
    # The disk is not the subject: remove the file, after the answer (freeing a file's blocks is
    # not something an upload pays: tus removes only a name, its bytes live on as the blob).
    return Response(None, status_code=204, background=BackgroundTask(_remove, path))


async def _remove(path: Path) -> None:
    await asyncio.to_thread(path.unlink, missing_ok=True)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[durable, health])
