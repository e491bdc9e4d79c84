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

from litestar import Litestar, Request, get, post

from api.uploads import services

ROOT = Path(os.environ.get("ZHENGWU_VAR_DIR") or tempfile.mkdtemp()) / "durable-floor"


@dataclass
class _Upload:  # the two fields the receive pipeline reads
    id: str
    upload_length: int


@post("/bare", status_code=204, request_max_body_size=services.MAX_CHUNK_SIZE)
async def durable(request: Request) -> None:
    upload_id = uuid.uuid4().hex
    path = ROOT / upload_id
    length = int(request.headers.get("content-length") or 0)
    partial = await asyncio.to_thread(services._Partial, path, 0, upload_id)
    try:
        await services._receive(partial, request.stream(), _Upload(upload_id, length), None)  # type: ignore[arg-type]
        partial.digest.hexdigest()
    finally:
        partial.close()
        path.unlink(missing_ok=True)  # the disk is not the subject: keep it from filling up


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[durable, health])
