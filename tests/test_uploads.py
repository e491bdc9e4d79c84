"""Resumable uploads (tus 1.0): protocol, errors, completion into the case checklist, and a real
tus client (tuspy) against a live server, resumed from another process.

In-process tests run on the shared demo database (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient
from litestar import Litestar
from tusclient.client import TusClient

from api.core.errors import StorageFull
from api.uploads import services
from api.uploads.models import EXPIRED, Upload
from storage import LocalBlobStore
from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens
from tests.processes import ROOT, running_server, sqlite_env, zhengwu
from tests.seaweed import CREDENTIALS, SeaweedS3, s3_store
from tests.test_cases import principal_of, submitted
from tests.tus_helpers import metadata, pdf_bytes

UPLOADS = "/api/v1/uploads"
LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (city)
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream", **TUS}


@pytest.fixture(params=["file", "s3"])
def gateway(request: pytest.FixtureRequest) -> SeaweedS3 | None:
    """Every upload test runs with the blobs on local disk and in a real S3 bucket (SeaweedFS)."""
    return request.getfixturevalue("seaweed") if request.param == "s3" else None


@pytest.fixture(autouse=True)
async def _blob_store(gateway: SeaweedS3 | None, app: Litestar, tmp_path: Path) -> AsyncIterator[None]:
    """With S3: the app's store and settings point at a bucket prefix of this test's own; the
    partial uploads stay on local disk (the settings' work directory)."""
    if gateway is None:
        yield
        return
    settings, blobs = app.state.settings, app.state.blobs
    prefix = f"uploads-{uuid.uuid4().hex}"
    store = s3_store(gateway, prefix, tmp_path / "work")
    app.state.settings = dataclasses.replace(settings, storage_url=gateway.url(prefix), work_dir=tmp_path / "work")
    app.state.blobs = store
    try:
        yield
    finally:
        app.state.settings, app.state.blobs = settings, blobs
        await store.close()





@pytest.fixture(autouse=True)
async def _remove_cases(client: AsyncClient) -> AsyncIterator[None]:
    yield
    await Upload.all().delete()
    await remove_cases()


async def new_case(client: AsyncClient, tokens: dict) -> dict:
    r = await client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}},
                          headers=bearer(tokens))
    assert r.status_code == 201, r.text
    return r.json()


async def create(client: AsyncClient, tokens: dict, case: dict, length: int, code: str | None = None,
                 filename: str = "申请书.pdf") -> str:
    code = code or case["materials"][0]["code"]
    r = await client.post(UPLOADS, headers={**bearer(tokens), **TUS, "Upload-Length": str(length),
                                            "Upload-Metadata": metadata(case_id=case["id"], material_id=code,
                                                                        filename=filename)})
    assert r.status_code == 201, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Location"].startswith(f"{UPLOADS}/")
    return r.headers["Location"]


async def offset_of(client: AsyncClient, tokens: dict, url: str) -> int:
    r = await client.head(url, headers={**bearer(tokens), **TUS})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store" and r.headers["Upload-Expires"]
    return int(r.headers["Upload-Offset"])


async def test_options_is_public_and_describes_the_server(client: AsyncClient) -> None:
    r = await client.options(UPLOADS)
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0" and r.headers["Tus-Resumable"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "expiration", "checksum"}
    assert int(r.headers["Tus-Max-Size"]) == services.MAX_UPLOAD_SIZE
    assert r.headers["Tus-Checksum-Algorithm"] == "sha256"


async def test_chunks_complete_into_the_case_checklist(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    code = case["materials"][0]["code"]
    data = pdf_bytes(200_000)
    url = await create(client, tokens, case, len(data), code)
    assert await offset_of(client, tokens, url) == 0
    step = 64 * 1024
    for start in range(0, len(data), step):
        chunk = data[start:start + step]
        digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
        r = await client.patch(url, content=chunk, headers={**bearer(tokens), **CHUNK, "Upload-Offset": str(start),
                                                           "Upload-Checksum": f"sha256 {digest}"})
        assert r.status_code == 204, r.text
        assert r.headers["Upload-Offset"] == str(start + len(chunk)) and r.headers["Tus-Resumable"] == "1.0.0"
        assert await offset_of(client, tokens, url) == start + len(chunk)
        if start + len(chunk) < len(data):  # hashed as it arrived: completion will not read the file back
            assert services._running[url.rsplit("/", 1)[1]][0] == start + len(chunk)

    upload = await Upload.get(id=url.rsplit("/", 1)[1])
    assert upload.state == "completed" and upload.sha256 == hashlib.sha256(data).hexdigest()
    assert not (services.partial_dir(app.state.settings.work_root) / upload.id).exists()
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    material = next(m for m in r.json()["materials"] if m["code"] == code)
    assert material["status"] == "attached" and material["filename"] == "申请书.pdf"
    assert material["mime"] == "application/pdf" and material["size"] == len(data)
    r = await client.get(material["download_url"], headers=bearer(tokens))
    assert r.status_code == 200 and r.content == data  # a valid PDF is stored byte for byte

    # A completed upload cannot be appended to again.
    r = await client.patch(url, content=b"x", headers={**bearer(tokens), **CHUNK, "Upload-Offset": str(len(data))})
    assert r.status_code == 409


async def _patch(client: AsyncClient, tokens: dict, url: str, data: bytes, start: int) -> int:
    r = await client.patch(url, content=data, headers={**bearer(tokens), **CHUNK, "Upload-Offset": str(start)})
    assert r.status_code == 204, r.text
    return int(r.headers["Upload-Offset"])


async def test_chunks_of_any_size_and_alignment_arrive_byte_identical(client: AsyncClient, app: Litestar) -> None:
    # Whole 4 KiB blocks go to disk with O_DIRECT and the unaligned rest through the page cache;
    # chunks that start and end anywhere must still make exactly the bytes that were sent.
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(1_200_000)
    url = await create(client, tokens, case, len(data))
    offset = 0
    for size in (1, 4095, 4097, 3, 12_345, 65_536, 4096, 1_048_579, 7, 8191):
        if offset >= len(data):
            break
        offset = await _patch(client, tokens, url, data[offset:offset + size], offset)
        partial = services.partial_dir(app.state.settings.work_root) / url.rsplit("/", 1)[1]
        if offset < len(data):
            assert partial.read_bytes() == data[:offset]  # acknowledged means on disk, exactly
    if offset < len(data):
        await _patch(client, tokens, url, data[offset:], offset)
    upload = await Upload.get(id=url.rsplit("/", 1)[1])
    assert upload.state == "completed" and upload.sha256 == hashlib.sha256(data).hexdigest()
    async with app.state.blobs.open(upload.blob_key) as chunks:
        assert b"".join([c async for c in chunks]) == data


async def test_chunks_received_by_other_processes_are_stored_under_the_right_hash(client: AsyncClient,
                                                                                    app: Litestar) -> None:
    # The running SHA-256 lives in the process; after a restart, or when each chunk reaches
    # another worker (here: the cache emptied before every chunk), the stored address must still
    # be the SHA-256 of every byte, or the blob would be stored under a wrong address.
    tokens = await citizen_tokens(client, app)
    for restarts in ([1], [0, 1, 2, 3]):
        case = await new_case(client, tokens)
        data = pdf_bytes(300_000)
        url = await create(client, tokens, case, len(data))
        offset = 0
        for i, end in enumerate((100_000, 150_000, 200_000, len(data))):
            if i in restarts:
                services._running.clear()
            offset = await _patch(client, tokens, url, data[offset:end], offset)
        upload = await Upload.get(id=url.rsplit("/", 1)[1])
        assert upload.state == "completed" and upload.sha256 == hashlib.sha256(data).hexdigest()
        assert upload.blob_key.endswith(upload.sha256)
        r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
        material = r.json()["materials"][0]
        assert (await client.get(material["download_url"], headers=bearer(tokens))).content == data


async def test_a_completion_killed_after_linking_never_alters_the_stored_blob(client: AsyncClient,
                                                                             app: Litestar) -> None:
    # Completion hard-links the partial file into the blob store, then commits. A process killed in
    # between leaves the partial file sharing its inode with a stored blob; the client then resumes
    # from the last committed offset, and the truncate-and-append must not touch that blob.
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(150_000)
    url = await create(client, tokens, case, len(data))
    offset = await _patch(client, tokens, url, data[:100_000], 0)
    partial = services.partial_dir(app.state.settings.work_root) / url.rsplit("/", 1)[1]
    with partial.open("ab") as f:  # the last chunk, fsynced but never committed …
        f.write(data[offset:])
    blob = await app.state.blobs.write_file(partial)  # … and linked into the store (or uploaded)
    linked = isinstance(app.state.blobs, LocalBlobStore)
    assert partial.stat().st_nlink == (2 if linked else 1)

    async def stored() -> bytes:
        async with app.state.blobs.open(blob.key) as chunks:
            return b"".join([c async for c in chunks])

    # The client resumes with a little (and may give up there): the blob, which another case may
    # share through deduplication, stays whole throughout.
    offset = await _patch(client, tokens, url, data[offset:offset + 1000], offset)
    assert await stored() == data and partial.stat().st_nlink == 1
    await _patch(client, tokens, url, data[offset:], offset)
    assert await stored() == data
    upload = await Upload.get(id=partial.name)
    assert upload.state == "completed" and upload.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_full_disk_keeps_every_acknowledged_byte_and_the_upload_resumes(
    client: AsyncClient, app: Litestar, tiny_filesystem: Path
) -> None:
    # Partial files on a real 1 MiB tmpfs: the kernel's ENOSPC, not a simulation.
    tokens = await citizen_tokens(client, app)
    who = principal_of(app, tokens)
    case = await new_case(client, tokens)
    data = pdf_bytes(700_000)
    upload = await services.create(who, tiny_filesystem, len(data), {
        "case_id": str(case["id"]), "material_id": case["materials"][0]["code"], "filename": "a.pdf"})

    async def body(chunk: bytes) -> AsyncIterator[bytes]:
        for i in range(0, len(chunk), 64 * 1024):
            yield chunk[i:i + 64 * 1024]

    done = await services.append(who, tiny_filesystem, app.state.blobs, upload.id, 0, body(data[:300_000]))
    assert done.upload.upload_offset == 300_000
    filler = tiny_filesystem / "filler"
    with pytest.raises(OSError):  # someone else fills the disk
        filler.write_bytes(b"\0" * 1024 * 1024)

    with pytest.raises(StorageFull) as refused:
        await services.append(who, tiny_filesystem, app.state.blobs, upload.id, 300_000, body(data[300_000:]))
    assert "存储空间" in refused.value.message
    partial = services.partial_dir(tiny_filesystem) / upload.id
    assert (await Upload.get(id=upload.id)).upload_offset == 300_000
    assert partial.read_bytes() == data[:300_000]  # acknowledged bytes intact, nothing half-kept

    filler.unlink()
    done = await services.append(who, tiny_filesystem, app.state.blobs, upload.id, 300_000, body(data[300_000:]))
    assert done.completed and done.upload.sha256 == hashlib.sha256(data).hexdigest()
    async with app.state.blobs.open(done.upload.blob_key) as chunks:  # another filesystem: streamed over
        assert b"".join([c async for c in chunks]) == data


async def test_bad_requests(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(20_000)
    url = await create(client, tokens, case, len(data))
    auth = bearer(tokens)
    r = await client.patch(url, content=data[:100], headers={**auth, **CHUNK, "Upload-Offset": "5"})
    assert r.status_code == 409 and r.headers["Tus-Resumable"] == "1.0.0"
    r = await client.patch(url, content=data[:100], headers={**auth, **TUS, "Upload-Offset": "0",
                                                             "Content-Type": "application/octet-stream"})
    assert r.status_code == 415
    r = await client.patch(url, content=data[:100], headers={**auth, "Upload-Offset": "0",
                                                             "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0" and r.headers["Tus-Resumable"] == "1.0.0"
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    r = await client.patch(url, content=data[:100], headers={**auth, **CHUNK, "Upload-Offset": "0",
                                                             "Upload-Checksum": f"sha256 {wrong}"})
    assert r.status_code == 460 and r.json()["message"]
    r = await client.patch(url, content=data[:100], headers={**auth, **CHUNK, "Upload-Offset": "0",
                                                             "Upload-Checksum": f"md5 {wrong}"})
    assert r.status_code == 400
    assert await offset_of(client, tokens, url) == 0  # nothing appended
    partial = services.partial_dir(app.state.settings.work_root) / url.rsplit("/", 1)[1]
    assert partial.stat().st_size == 0

    # Oversize: past Upload-Length, over the per-PATCH limit, over Tus-Max-Size.
    r = await client.patch(url, content=data + b"extra", headers={**auth, **CHUNK, "Upload-Offset": "0"})
    assert r.status_code == 413 and await offset_of(client, tokens, url) == 0 and partial.stat().st_size == 0
    big = await create(client, tokens, case, services.MAX_UPLOAD_SIZE)
    r = await client.patch(big, content=b"\0" * (services.MAX_CHUNK_SIZE + 1),
                           headers={**auth, **CHUNK, "Upload-Offset": "0"})
    assert r.status_code == 413 and await offset_of(client, tokens, big) == 0
    r = await client.post(UPLOADS, headers={**auth, **TUS, "Upload-Length": str(services.MAX_UPLOAD_SIZE + 1),
                                            "Upload-Metadata": metadata(case_id=case["id"], material_id="x")})
    assert r.status_code == 413
    r = await client.post(UPLOADS, headers={**auth, **TUS, "Upload-Length": "10",
                                            "Upload-Metadata": metadata(case_id=case["id"], material_id="nope")})
    assert r.status_code == 404 and r.json()["field"] == "material_id"
    r = await client.post(UPLOADS, headers={**auth, "Upload-Length": "10"})
    assert r.status_code == 412

    # Unknown uploads.
    for method in ("HEAD", "PATCH", "DELETE"):
        r = await client.request(method, f"{UPLOADS}/{'0' * 32}", headers={**auth, **CHUNK, "Upload-Offset": "0"})
        assert r.status_code == 404, method
    # Without a token: 401 (OPTIONS alone is public).
    r = await client.head(url, headers=TUS)
    assert r.status_code == 401


async def test_someone_elses_case_and_upload_do_not_exist(client: AsyncClient, app: Litestar) -> None:
    owner, other = await citizen_tokens(client, app), await citizen_tokens(client, app)
    case = await new_case(client, owner)
    url = await create(client, owner, case, 100)
    for code in ("x", case["materials"][0]["code"]):  # a material on that case's list reveals nothing either
        r = await client.post(UPLOADS, headers={**bearer(other), **TUS, "Upload-Length": "100",
                                                "Upload-Metadata": metadata(case_id=case["id"], material_id=code)})
        assert r.status_code == 404 and r.json()["detail"].startswith("case not found")
    for method in ("HEAD", "PATCH", "DELETE"):
        r = await client.request(method, url, content=b"x" * 10,
                                 headers={**bearer(other), **CHUNK, "Upload-Offset": "0"})
        assert r.status_code == 404, method
    assert await offset_of(client, owner, url) == 0


async def test_a_submitted_case_takes_no_uploads(client: AsyncClient, app: Litestar) -> None:
    tokens, done = await submitted(client, app)
    case = done["case"]
    for code in (case["materials"][0]["code"], "not-on-the-list"):
        r = await client.post(UPLOADS, content=b"%PDF-", headers={
            **bearer(tokens), **CHUNK, "Upload-Length": "5",
            "Upload-Metadata": metadata(case_id=case["id"], material_id=code)})
        assert r.status_code == 409 and r.json()["field"] == "state", code


async def test_termination_and_expiry(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    root = app.state.settings.work_root
    url = await create(client, tokens, case, 1000)
    upload_id = url.rsplit("/", 1)[1]
    r = await client.patch(url, content=b"a" * 300, headers={**bearer(tokens), **CHUNK, "Upload-Offset": "0"})
    assert r.status_code == 204
    r = await client.delete(url, headers={**bearer(tokens), **TUS})
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert not (services.partial_dir(root) / upload_id).exists()
    assert (await client.head(url, headers={**bearer(tokens), **TUS})).status_code == 404

    url = await create(client, tokens, case, 1000)
    upload_id = url.rsplit("/", 1)[1]
    r = await client.patch(url, content=b"b" * 100, headers={**bearer(tokens), **CHUNK, "Upload-Offset": "0"})
    assert r.status_code == 204 and (services.partial_dir(root) / upload_id).exists()
    later = dt.datetime.now(dt.UTC) + services.UPLOAD_TTL + dt.timedelta(minutes=1)
    assert await services.expire_uploads(root, now=later) >= 1
    assert (await Upload.get(id=upload_id)).state == EXPIRED
    assert not (services.partial_dir(root) / upload_id).exists()
    r = await client.head(url, headers={**bearer(tokens), **TUS})
    assert r.status_code == 410  # expired: start a new upload


async def test_a_refused_file_rejects_the_upload(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = b"MZ this is not a document" * 40
    url = await create(client, tokens, case, len(data))
    r = await client.patch(url, content=data, headers={**bearer(tokens), **CHUNK, "Upload-Offset": "0"})
    assert r.status_code == 415 and r.json()["message"] and r.headers["Tus-Resumable"] == "1.0.0"
    assert (await Upload.get(id=url.rsplit("/", 1)[1])).state == "rejected"
    assert (await client.head(url, headers={**bearer(tokens), **TUS})).status_code == 410
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    assert r.json()["materials"][0]["status"] == "missing"


async def _create_with(client: AsyncClient, tokens: dict, case: dict, length: int, body: bytes,
                       **headers: str) -> object:
    return await client.post(UPLOADS, content=body, headers={
        **bearer(tokens), **CHUNK, "Upload-Length": str(length), **headers,
        "Upload-Metadata": metadata(case_id=case["id"], material_id=case["materials"][0]["code"], filename="a.pdf")})


async def test_creation_with_upload_completes_a_file_in_one_request(client: AsyncClient, app: Litestar) -> None:
    # A phone photo in one round trip: the POST that creates the upload carries the whole file.
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(300_000)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    r = await _create_with(client, tokens, case, len(data), data, **{"Upload-Checksum": f"sha256 {digest}"})
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(len(data)) and r.headers["Location"].startswith(f"{UPLOADS}/")
    upload = await Upload.get(id=r.headers["Location"].rsplit("/", 1)[1])
    assert upload.state == "completed" and upload.sha256 == hashlib.sha256(data).hexdigest()
    assert not (services.partial_dir(app.state.settings.work_root) / upload.id).exists()
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    material = r.json()["materials"][0]
    assert material["status"] == "attached" and material["size"] == len(data)
    assert (await client.get(material["download_url"], headers=bearer(tokens))).content == data


async def test_creation_with_upload_then_patches(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(200_003)
    r = await _create_with(client, tokens, case, len(data), data[:70_001])
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "70001"
    url = r.headers["Location"]
    assert await offset_of(client, tokens, url) == 70_001  # acknowledged, so resumable from there
    assert await _patch(client, tokens, url, data[70_001:], 70_001) == len(data)
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    material = r.json()["materials"][0]
    assert (await client.get(material["download_url"], headers=bearer(tokens))).content == data


async def test_creation_with_upload_refusals_keep_nothing_and_say_where(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    case = await new_case(client, tokens)
    data = pdf_bytes(100_000)

    # A body whose checksum does not match: nothing kept, but the upload exists to resume from 0.
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    r = await _create_with(client, tokens, case, len(data), data, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert r.status_code == 460 and r.json()["field"] == "Upload-Checksum"
    url = r.headers["Location"]
    assert await offset_of(client, tokens, url) == 0
    assert await _patch(client, tokens, url, data, 0) == len(data)

    # More than the declared length: 413, nothing kept.
    r = await _create_with(client, tokens, case, 10, data[:20])
    assert r.status_code == 413 and r.headers["Tus-Resumable"] == "1.0.0"
    assert await offset_of(client, tokens, r.headers["Location"]) == 0
    assert (await client.delete(r.headers["Location"], headers={**bearer(tokens), **TUS})).status_code == 204

    # A bad checksum header is refused before anything is created.
    before = await Upload.all().count()
    r = await _create_with(client, tokens, case, len(data), data, **{"Upload-Checksum": "md5 abc"})
    assert r.status_code == 400 and await Upload.all().count() == before

    # A refused file: 415 naming the problem, the upload rejected, the material still missing.
    junk = b"MZ this is not a document" * 40
    r = await _create_with(client, tokens, case, len(junk), junk)
    assert r.status_code == 415 and r.json()["message"]
    assert (await client.head(r.headers["Location"], headers={**bearer(tokens), **TUS})).status_code == 410

    # Without the tus content type a body is not the first chunk: an empty upload is created.
    r = await client.post(UPLOADS, content=b"ignored", headers={
        **bearer(tokens), **TUS, "Upload-Length": "7", "Content-Type": "text/plain",
        "Upload-Metadata": metadata(case_id=case["id"], material_id=case["materials"][1]["code"])})
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "0"


# --------------------------------------------------------------------------- a real tus client

RESUME = """
import sys
from tusclient.client import TusClient
from tusclient.uploader import Uploader
base, url, token, path = sys.argv[1:5]
client = TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer " + token})
uploader = Uploader(file_path=path, url=url, client=client, chunk_size=256 * 1024)
print("resumed at", uploader.offset, flush=True)
uploader.upload()
"""


def _json(base: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def test_tuspy_uploads_interrupted_and_resumed_from_another_process(tmp_path: Path, gateway: SeaweedS3 | None) -> None:
    var = tmp_path / "var"
    env = sqlite_env(var)
    if gateway is not None:  # the server's blobs in the bucket, from the usual AWS_* variables
        env.update(CREDENTIALS, ZHENGWU_STORAGE_URL=gateway.url(f"tuspy-{uuid.uuid4().hex}"))
    assert zhengwu("migrate", env=env).returncode == 0
    assert zhengwu("seed", "--demo", env=env).returncode == 0
    data = pdf_bytes(1_500_000)
    source = tmp_path / "材料.pdf"
    source.write_bytes(data)
    with running_server(env, tmp_path / "serve.log") as base:
        phone = "13912345678"
        _json(base, "/api/v1/auth/otp", {"phone": phone})
        code = _json(base, f"/api/v1/dev/sms?phone={phone}")["codes"][0]
        token = _json(base, "/api/v1/auth/token", {"phone": phone, "code": code})["access_token"]
        case = _json(base, "/api/v1/cases", {"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}},
                     token)
        material = case["materials"][0]["code"]

        client = TusClient(f"{base}{UPLOADS}", headers={"Authorization": f"Bearer {token}"})
        uploader = client.uploader(file_path=str(source), chunk_size=256 * 1024,
                                   metadata={"case_id": str(case["id"]), "material_id": material,
                                             "filename": source.name})
        uploader.upload(stop_at=600_000)  # the app is killed after a few chunks
        assert 600_000 <= uploader.offset < len(data)
        stored_url = uploader.url
        assert stored_url

        done = subprocess.run([sys.executable, "-c", RESUME, base, stored_url, token, str(source)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"resumed at {uploader.offset}" in done.stdout

        request = urllib.request.Request(f"{base}/api/v1/cases/{case['id']}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            attached = next(m for m in json.load(r)["materials"] if m["code"] == material)
        assert attached["status"] == "attached" and attached["sha256"] == hashlib.sha256(data).hexdigest()
        request = urllib.request.Request(base + attached["download_url"],
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.read() == data

