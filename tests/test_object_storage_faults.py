"""The object store failing under the uploads and downloads: a Chinese 503 with the English detail and
Retry-After, never a 500, and every acknowledged chunk kept (the partial files stay on local disk).

The app's blob store is pointed, for one request at a time, at an S3 endpoint nothing listens on
(a real refused connection); before and after, at the session's SeaweedFS gateway."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.uploads import services
from api.uploads.models import Upload
from storage.s3 import S3BlobStore
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens
from tests.processes import free_port
from tests.seaweed import SeaweedS3, s3_store
from tests.test_uploads import CHUNK, UPLOADS, _patch, create, new_case, offset_of
from tests.tus_helpers import metadata, pdf_bytes


@pytest.fixture(autouse=True)
async def _in_a_bucket(client: AsyncClient, app: Litestar, seaweed: SeaweedS3, tmp_path: Path) -> AsyncIterator[None]:
    settings, blobs = app.state.settings, app.state.blobs
    prefix = f"faults-{uuid.uuid4().hex}"
    store = s3_store(seaweed, prefix, tmp_path / "work")
    app.state.settings = dataclasses.replace(settings, storage_url=seaweed.url(prefix), work_dir=tmp_path / "work")
    app.state.blobs = store
    try:
        yield
    finally:
        app.state.settings, app.state.blobs = settings, blobs
        await store.close()
        await Upload.all().delete()
        await remove_cases()


async def test_an_unreachable_object_store_answers_503_and_keeps_every_acknowledged_chunk(
    client: AsyncClient, app: Litestar, tmp_path: Path, seaweed: SeaweedS3
) -> None:
    gateway = seaweed
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(400_000)
    url = await create(client, tokens, case, len(data))
    offset = await _patch(client, tokens, url, data[:250_000], 0)
    working = app.state.blobs
    # The object store goes away: nothing listens on its port any more (a real refused connection).
    down = S3BlobStore(f"s3://{gateway.bucket}/x?endpoint=http://127.0.0.1:{free_port()}", tmp_path / "down",
                       access_key="a", secret_key="b")
    app.state.blobs = down
    try:
        r = await client.patch(url, content=data[offset:], headers={**bearer(tokens), **CHUNK,
                                                                    "Upload-Offset": str(offset)})
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == str(services.STORAGE_RETRY_AFTER) and r.headers["Tus-Resumable"] == "1.0.0"
        body = r.json()
        assert body["message"] == "文件存储服务暂时不可用，已上传的内容已保存，请稍后重试本次上传"
        assert body["detail"].startswith("object storage unavailable") and "Traceback" not in r.text
        # Every acknowledged byte is kept; the refused chunk is not acknowledged (the client sends it again).
        assert await offset_of(client, tokens, url) == offset
        partial = services.partial_dir(app.state.settings.work_root) / url.rsplit("/", 1)[1]
        assert partial.read_bytes()[:offset] == data[:offset]
        assert (await Upload.get(id=partial.name)).state == "partial"
        # A walk-in scan or a download meanwhile: the same Chinese 503, never a 500.
        r = await client.post(UPLOADS, content=data, headers={
            **bearer(tokens), **CHUNK, "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(case_id=case["id"], material_id=case["materials"][1]["code"])})
        assert r.status_code == 503 and r.headers["Location"].startswith(UPLOADS) and r.json()["message"]
    finally:
        app.state.blobs = working
        await down.close()
    # The store is back: the same chunk again completes the upload.
    assert await _patch(client, tokens, url, data[offset:], offset) == len(data)
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    material = r.json()["materials"][0]
    assert material["status"] == "attached"
    assert (await client.get(material["download_url"], headers=bearer(tokens))).content == data


async def test_a_download_while_the_object_store_is_down_is_a_chinese_503(
    client: AsyncClient, app: Litestar, tmp_path: Path, seaweed: SeaweedS3
) -> None:
    gateway = seaweed
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(50_000)
    url = await create(client, tokens, case, len(data))
    await _patch(client, tokens, url, data, 0)
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    download = r.json()["materials"][0]["download_url"]
    working = app.state.blobs
    down = S3BlobStore(f"s3://{gateway.bucket}/x?endpoint=http://127.0.0.1:{free_port()}", tmp_path / "down",
                       access_key="a", secret_key="b")
    app.state.blobs = down
    try:
        r = await client.get(download, headers=bearer(tokens))
    finally:
        app.state.blobs = working
        await down.close()
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert r.json()["message"] == "文件存储服务暂时不可用，请稍后再试"
    assert r.json()["detail"] == "file storage unavailable"
