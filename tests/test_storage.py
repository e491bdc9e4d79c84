"""Blob storage against real files: streaming, durability bookkeeping, failure clean-up, sweeping."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.core.settings import PROJECT_ROOT
from storage import (
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    InvalidBlobKey,
    LocalBlobStore,
    StorageFull,
    StorageUnavailable,
    UnsupportedStorageURL,
    open_store,
    storage_path,
)
from storage.s3 import PART_SIZE, TOUCHED, S3BlobStore, parse_s3_url
from tests.processes import free_port
from tests.seaweed import CREDENTIALS, SeaweedS3, s3_store

KiB = 1024
MiB = 1024 * KiB
ODD_SIZES = (1, 7, 4093, 65_537, 1_000_003, 13, 250_001)


@pytest.fixture(params=["local", "s3"])
def gateway(request: pytest.FixtureRequest) -> SeaweedS3 | None:
    """None for the local filesystem; the session's SeaweedFS S3 gateway, started on first use."""
    return request.getfixturevalue("seaweed") if request.param == "s3" else None


@pytest.fixture
async def store(gateway: SeaweedS3 | None, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """Each interface test runs on the local filesystem and on a real S3 gateway (SeaweedFS)."""
    if gateway is None:
        yield LocalBlobStore(tmp_path / "blobs")
        return
    s3 = s3_store(gateway, f"t-{uuid.uuid4().hex}", tmp_path / "work")
    try:
        yield s3
    finally:
        await s3.close()


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def chunked(data: bytes, sizes: Iterable[int] = ODD_SIZES) -> AsyncIterator[bytes]:
    """Yield ``data`` in irregular pieces, the way a phone on a weak connection delivers it."""
    sizes = list(sizes)
    pos = i = 0
    while pos < len(data):
        step = sizes[i % len(sizes)]
        yield data[pos : pos + step]
        pos += step
        i += 1


async def read_all(store: BlobStore, key: str) -> bytes:
    async with store.open(key) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def stored_keys(store: BlobStore) -> list[str]:
    """What is really there: files under sha256/ on disk, objects in the bucket."""
    if isinstance(store, LocalBlobStore):
        return sorted(str(p.relative_to(store.root)) for p in (store.root / "sha256").rglob("*") if p.is_file())
    assert isinstance(store, S3BlobStore)
    client = await store._s3()
    listed = await client.list_objects_v2(Bucket=store.bucket, Prefix=store.location.prefix)
    return sorted(item["Key"][len(store.location.prefix):] for item in listed.get("Contents", []))


def temp_dir(store: BlobStore) -> Path:
    return store.root / "tmp" if isinstance(store, LocalBlobStore) else store.spool  # type: ignore[attr-defined]


def temp_files(store: BlobStore) -> list[Path]:
    tmp = temp_dir(store)
    return sorted(tmp.iterdir()) if tmp.exists() else []


async def unfinished_uploads(store: BlobStore) -> list[str]:
    if not isinstance(store, S3BlobStore):
        return []
    listed = await (await store._s3()).list_multipart_uploads(Bucket=store.bucket, Prefix=store.location.prefix)
    return [upload["Key"] for upload in listed.get("Uploads", [])]


async def assert_nothing_left(store: BlobStore) -> None:
    assert await stored_keys(store) == []
    assert temp_files(store) == []
    assert await unfinished_uploads(store) == []


def age(path: Path, delta: timedelta) -> None:
    """Backdate a file's mtime, as if it had been written ``delta`` ago."""
    then = time.time() - delta.total_seconds()
    os.utime(path, (then, then))


async def age_blob(store: BlobStore, key: str, delta: timedelta) -> None:
    """As if the blob had been written ``delta`` ago: its file's mtime, or its object's write time
    (which S3 itself never lets anyone set: the store keeps it in the object's metadata)."""
    if isinstance(store, LocalBlobStore):
        age(store.root / key, delta)
        return
    assert isinstance(store, S3BlobStore)
    name = store.object_key(key)
    await (await store._s3()).copy_object(
        Bucket=store.bucket, Key=name, CopySource={"Bucket": store.bucket, "Key": name}, MetadataDirective="REPLACE",
        Metadata={TOUCHED: f"{time.time() - delta.total_seconds():.6f}"})


# -- writing and reading -------------------------------------------------------------------------


async def test_round_trip_in_odd_chunks(store: BlobStore) -> None:
    data = payload(3 * MiB + 12_345)
    blob = await store.write(chunked(data))

    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.size == len(data)
    assert blob.key == f"sha256/{blob.sha256[:2]}/{blob.sha256[2:4]}/{blob.sha256}"
    assert await stored_keys(store) == [blob.key]
    async with store.open(blob.key) as chunks:
        pieces = [chunk async for chunk in chunks]
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) <= store.chunk_size  # type: ignore[attr-defined]  # reads stream too
    assert temp_files(store) == []


async def test_empty_stream_is_a_valid_blob(store: BlobStore) -> None:
    blob = await store.write(chunked(b""))
    assert (blob.size, blob.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await read_all(store, blob.key) == b""


async def test_identical_content_is_stored_once(store: BlobStore) -> None:
    data = payload(2 * MiB)
    first = await store.write(chunked(data))
    second = await store.write(chunked(data, sizes=[MiB // 3]))
    assert first == second
    assert await stored_keys(store) == [first.key]
    assert temp_files(store) == []


async def test_concurrent_identical_writes_end_in_one_blob(store: BlobStore) -> None:
    data = payload(MiB + 1, seed=9)
    blobs = await asyncio.gather(*(store.write(chunked(data, sizes=[size])) for size in ODD_SIZES[2:]))
    assert len({b.key for b in blobs}) == 1
    assert len(await stored_keys(store)) == 1
    assert temp_files(store) == []
    assert await read_all(store, blobs[0].key) == data


async def test_max_bytes_stops_the_stream_at_once_and_leaves_nothing(store: BlobStore) -> None:
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(10):
            pulled += 1
            yield b"x" * (100 * KiB)

    with pytest.raises(BlobTooLarge) as caught:
        await store.write(body(), max_bytes=250 * KiB)
    assert caught.value.max_bytes == 250 * KiB
    assert pulled == 3  # the chunk that crossed the limit, and not one more
    await assert_nothing_left(store)


async def test_max_bytes_is_inclusive(store: BlobStore) -> None:
    data = payload(300 * KiB)
    blob = await store.write(chunked(data), max_bytes=len(data))
    assert blob.size == len(data)


async def test_dropped_connection_midway_leaves_nothing(store: BlobStore) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield payload(2 * MiB)
        yield b"partial"
        assert len(temp_files(store)) == 1  # the upload really was on disk when it broke
        raise ConnectionResetError("phone lost signal")

    with pytest.raises(ConnectionResetError):
        await store.write(body())
    await assert_nothing_left(store)


async def test_cancellation_midway_leaves_nothing(store: BlobStore) -> None:
    on_disk = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield payload(2 * MiB)
        on_disk.set()  # asked for more, so the first chunk has been written
        await asyncio.Event().wait()  # the client stalls forever
        yield b"never"

    task = asyncio.create_task(store.write(body()))
    await on_disk.wait()
    assert [p.stat().st_size for p in temp_files(store)] == [2 * MiB]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left(store)


# A store in a child process: the local one at a directory, or the S3 one at a URL (with a spool).
_OPEN_STORE = """
import sys
from storage import open_store
from storage.local import LocalBlobStore

def store_from_argv():
    if sys.argv[1] == "local":
        return LocalBlobStore(sys.argv[2])
    keys = {"access_key": sys.argv[4], "secret_key": sys.argv[5]}
    return open_store(sys.argv[2], work_dir=sys.argv[3], credentials=keys)
"""


def store_argv(store: BlobStore) -> list[str]:
    if isinstance(store, LocalBlobStore):
        return ["local", str(store.root)]
    assert isinstance(store, S3BlobStore)
    location = store.location
    url = f"s3://{location.bucket}/{location.prefix.rstrip('/')}?endpoint={location.endpoint}&region={location.region}"
    return ["s3", url, str(store.spool.parent), CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"]]


_FLAT_MEMORY = _OPEN_STORE + """
import asyncio, tracemalloc

async def main() -> None:
    store = store_from_argv()
    piece = bytes(range(256)) * 256  # 64 KiB
    count = 800  # 50 MiB

    async def body(salt):
        yield salt  # another blob each time: a deduplicated write would send nothing
        for _ in range(count):
            yield piece  # the same object each time: the stream itself allocates nothing

    await store.write(body(b"warm"))  # imports, thread pool, directory layout, connections
    tracemalloc.start()
    tracemalloc.reset_peak()
    blob = await store.write(body(b"measured"))
    _, peak = tracemalloc.get_traced_memory()
    assert blob.size == count * len(piece) + 8, blob.size
    await store.close()
    print(peak)

asyncio.run(main())
"""


async def test_fifty_megabytes_stream_through_flat_memory(store: BlobStore) -> None:
    # In a process of its own: tracemalloc counts every thread's allocations, and in the test
    # process other tests' leftovers (pools, background tasks) would be counted as the store's.
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", _FLAT_MEMORY, *store_argv(store)], cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    peak = int(done.stdout.strip())
    if isinstance(store, LocalBlobStore):
        # One write buffer (1 MiB, plus bytearray growth slack) and change; a non-streaming store
        # would peak at 50 MiB or more.
        assert peak < 4 * MiB, f"peak traced memory {peak / MiB:.1f} MiB while writing 50 MiB"
    else:
        # Spooled to disk as locally, then sent by multipart upload one 8 MiB part at a time (the
        # part read from the spool, and what botocore holds of it while signing and sending).
        assert peak < 3 * PART_SIZE, f"peak traced memory {peak / MiB:.1f} MiB while writing 50 MiB"


# -- lookups and keys ----------------------------------------------------------------------------


async def test_stat_exists_delete(store: BlobStore) -> None:
    before = datetime.now(UTC)
    blob = await store.write(chunked(b"scan of an ID card"))
    info = await store.stat(blob.key)
    assert info is not None
    assert (info.key, info.size) == (blob.key, 18)
    assert info.modified.tzinfo is UTC
    assert info.modified >= before - timedelta(seconds=5)  # filesystem clocks are coarse
    assert await store.exists(blob.key)

    await store.delete(blob.key)
    assert await store.stat(blob.key) is None
    assert not await store.exists(blob.key)
    await store.delete(blob.key)  # idempotent, as S3 is
    with pytest.raises(BlobNotFound):
        async with store.open(blob.key):
            pass


VALID_HEX = "abcd" + "0" * 60
BAD_KEYS = [
    "",
    "../outside",
    "/etc/passwd",
    "sha256/../../outside",
    f"sha256/ab/cd/../cd/{VALID_HEX}",
    f"sha256/ab/cd/{VALID_HEX}/..",
    f"sha256/ab/cd/{VALID_HEX}\n",
    f"sha256//ab/cd/{VALID_HEX}",
    f"./sha256/ab/cd/{VALID_HEX}",
    f"sha256/ab/ce/{VALID_HEX}",  # directories must repeat the hash prefix
    f"sha256/AB/CD/{VALID_HEX.upper()}",
    f"sha256/ab/cd/{VALID_HEX[:-1]}",
    f"sha512/ab/cd/{VALID_HEX}",
    "tmp/.upload-0123",
    ".lock",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_outside_the_layout_are_rejected(store: BlobStore, key: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("not a blob")
    for attempt in (store.stat, store.exists, store.delete):
        with pytest.raises(InvalidBlobKey):
            await attempt(key)
    with pytest.raises(InvalidBlobKey):
        store.open(key)
    assert outside.read_text() == "not a blob"


async def test_a_valid_key_that_was_never_written_is_simply_absent(store: BlobStore) -> None:
    key = f"sha256/ab/cd/{VALID_HEX}"
    assert await store.stat(key) is None
    with pytest.raises(BlobNotFound) as caught:
        async with store.open(key):
            pass
    assert caught.value.key == key


# -- crashes and sweeping ------------------------------------------------------------------------

CRASHING_WRITER = _OPEN_STORE + """
import asyncio

async def body():
    yield b"x" * (2 * 1024 * 1024)
    print("written", flush=True)  # asked for more: the first chunk is on disk
    await asyncio.Event().wait()
    yield b""

asyncio.run(store_from_argv().write(body()))
"""


async def test_sweep_removes_the_temp_file_of_a_killed_writer(store: BlobStore) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WRITER, *store_argv(store), stdout=subprocess.PIPE, cwd=PROJECT_ROOT
    )
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"written\n"
    proc.kill()  # SIGKILL: no finally blocks run, exactly like the OOM killer or a power cut
    await proc.wait()
    [temp] = temp_files(store)
    assert temp.stat().st_size == 2 * MiB

    assert await store.sweep_partial_writes(older_than=timedelta(hours=1)) == 0  # still in grace
    age(temp, timedelta(hours=2))
    assert await store.sweep_orphans(set(), older_than=timedelta(hours=1)) == 1
    await assert_nothing_left(store)


KILLED_MID_UPLOAD = _OPEN_STORE + """
import asyncio, os, signal
import storage.s3

async def main():
    store = store_from_argv()
    real = store._call

    async def call(doing, operation, **kwargs):
        if operation == "upload_part" and kwargs["PartNumber"] == 2:
            print("one part sent", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # the machine dies mid-upload
        return await real(doing, operation, **kwargs)

    store._call = call

    async def body():
        for _ in range(20):
            yield b"y" * (1024 * 1024)

    await store.write(body())

asyncio.run(main())
"""


async def test_a_multipart_upload_cut_off_by_a_crash_is_aborted_by_the_sweep(seaweed: SeaweedS3,
                                                                           tmp_path: Path) -> None:
    store = s3_store(seaweed, f"t-{uuid.uuid4().hex}", tmp_path / "work")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", KILLED_MID_UPLOAD, *store_argv(store), stdout=subprocess.PIPE, cwd=PROJECT_ROOT)
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"one part sent\n"
        await proc.wait()
        [unfinished] = await unfinished_uploads(store)
        assert unfinished.startswith(store.location.prefix + "sha256/")  # at its content address already
        assert await stored_keys(store) == []  # never completed: nothing readable under that name
        assert await store.sweep_partial_writes(older_than=timedelta(hours=1)) == 0  # in grace
        for temp in temp_files(store):  # the spool file the crash left, and the upload: both old now
            age(temp, timedelta(hours=2))
        store._clock = lambda: time.time() + 2 * 3600  # the upload's start is the server's; move ours
        assert await store.sweep_orphans(set(), older_than=timedelta(hours=1)) == 2
        await assert_nothing_left(store)
    finally:
        await store.close()


async def test_sweep_never_touches_a_live_upload_however_slow(store: BlobStore) -> None:
    stalled, resume = asyncio.Event(), asyncio.Event()
    first = payload(2 * MiB)

    async def body() -> AsyncIterator[bytes]:
        yield first
        stalled.set()
        await resume.wait()
        yield b"rest"

    task = asyncio.create_task(store.write(body()))
    await stalled.wait()
    [temp] = temp_files(store)
    age(temp, timedelta(days=2))  # stalled longer than any grace period

    assert await store.sweep_partial_writes(older_than=timedelta(hours=1)) == 0
    assert temp_files(store) == [temp]
    resume.set()
    blob = await task
    assert await read_all(store, blob.key) == first + b"rest"


async def test_orphans_are_old_unreferenced_blobs(store: BlobStore) -> None:
    old_orphan = await store.write(chunked(b"abandoned draft"))
    old_kept = await store.write(chunked(b"submitted application"))
    fresh = await store.write(chunked(b"uploaded, row not committed yet"))
    for blob in (old_orphan, old_kept):
        await age_blob(store, blob.key, timedelta(days=2))
    grace = timedelta(days=1)

    assert await store.list_orphans({old_kept.key}, older_than=grace) == [old_orphan.key]
    assert await store.list_orphans({old_kept.key}, older_than=timedelta(days=3)) == []

    async def in_database(key: str) -> bool:  # the per-key (async) form of `referenced`
        return key == old_kept.key

    assert await store.sweep_orphans(in_database, older_than=grace) == 1
    assert not await store.exists(old_orphan.key)
    assert await store.exists(old_kept.key)
    assert await store.exists(fresh.key)
    assert await store.sweep_orphans(lambda key: key == old_kept.key, older_than=grace) == 0


async def test_writing_identical_content_rescues_a_blob_from_the_sweep(store: BlobStore) -> None:
    content = b"a photo someone uploaded long ago and deleted the draft of"
    blob = await store.write(chunked(content))
    await age_blob(store, blob.key, timedelta(days=2))
    grace = timedelta(days=1)
    assert await store.list_orphans(set(), older_than=grace) == [blob.key]

    asked: list[str] = []

    async def in_database(key: str) -> bool:
        asked.append(key)
        if len(asked) == 2:
            # Between the sweeper listing the blob and deleting it, a citizen uploads the same
            # photo; the write deduplicates onto the blob and returns, its row not committed yet.
            assert await store.write(chunked(content)) == blob
        return False

    assert await store.sweep_orphans(in_database, older_than=grace) == 0
    assert asked == [blob.key, blob.key]
    assert await read_all(store, blob.key) == content


async def test_sweeping_an_empty_store(store: BlobStore) -> None:
    assert await store.list_orphans(set(), older_than=timedelta(0)) == []
    assert await store.sweep_orphans(set(), older_than=timedelta(0)) == 0


# -- storing a finished file ---------------------------------------------------------------------


async def test_write_file_links_the_file_into_the_store_without_a_copy(local: LocalBlobStore, tmp_path: Path) -> None:
    store = local
    data = payload(3 * MiB + 5, seed=11)
    source = tmp_path / "received"
    source.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()

    blob = await store.write_file(source, sha256=sha)

    assert (blob.sha256, blob.size) == (sha, len(data))
    stored = store.root / blob.key
    assert stored.stat().st_ino == source.stat().st_ino and source.stat().st_nlink == 2  # one copy on disk
    assert temp_files(store) == []
    source.unlink()  # what the caller does after committing the row that refers to the blob
    assert await read_all(store, blob.key) == data


async def test_write_file_hashes_when_not_told_and_dedupes(store: BlobStore, tmp_path: Path) -> None:
    data = payload(200 * KiB, seed=12)
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(data)
    second.write_bytes(data)
    one = await store.write_file(first)
    two = await store.write_file(second)
    assert one == two and one.sha256 == hashlib.sha256(data).hexdigest()
    assert await stored_keys(store) == [one.key] and temp_files(store) == []
    assert second.stat().st_nlink == 1  # the duplicate was not linked


async def test_write_file_refuses_a_malformed_digest(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "x"
    source.write_bytes(b"x")
    with pytest.raises(ValueError):
        await store.write_file(source, sha256="../../etc")
    assert await stored_keys(store) == [] and temp_files(store) == []


async def test_the_interface_default_streams_the_file(store: BlobStore, tmp_path: Path) -> None:
    # What a backend without local files (S3) inherits: the file is read and written through write().
    data = payload(1 * MiB + 3, seed=13)
    source = tmp_path / "received"
    source.write_bytes(data)
    blob = await BlobStore.write_file(store, source)
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and source.stat().st_nlink == 1
    assert await read_all(store, blob.key) == data


# -- a full disk ---------------------------------------------------------------------------------


async def test_a_full_disk_raises_storage_full_and_frees_the_space(tiny_filesystem: Path) -> None:
    store = LocalBlobStore(tiny_filesystem)
    small = await store.write(chunked(b"fits"))  # also lays out the directories
    free_before = os.statvfs(tiny_filesystem).f_bfree

    with pytest.raises(StorageFull, match="no space left"):
        await store.write(chunked(payload(2 * MiB)))

    assert temp_files(store) == []
    assert await stored_keys(store) == [small.key]
    assert os.statvfs(tiny_filesystem).f_bfree == free_before  # the partial file is closed, not just unlinked
    after = await store.write(chunked(payload(300 * KiB, seed=3)))
    assert await store.exists(after.key)


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("file://var/storage", PROJECT_ROOT / "var" / "storage"),
        ("file://var/../var/storage", PROJECT_ROOT / "var" / "storage"),
        ("file:///srv/zhengwu/blobs", Path("/srv/zhengwu/blobs")),
    ],
)
def test_open_store_resolves_file_urls(url: str, root: Path) -> None:
    store = open_store(url)
    assert isinstance(store, LocalBlobStore)
    assert store.root == root == storage_path(url)  # the uploads' partial files live beside it


def test_s3_urls_name_bucket_prefix_endpoint_and_region(tmp_path: Path) -> None:
    location = parse_s3_url("s3://zhengwu-materials/prod/blobs?endpoint=http://127.0.0.1:8333&region=cn-north-1")
    assert (location.bucket, location.prefix, location.endpoint, location.region, location.addressing) == (
        "zhengwu-materials", "prod/blobs/", "http://127.0.0.1:8333", "cn-north-1", "path")
    aws = parse_s3_url("s3://zhengwu-materials")
    assert (aws.prefix, aws.endpoint, aws.region, aws.addressing) == ("", None, "us-east-1", "auto")
    store = open_store("s3://zhengwu-materials/prod?endpoint=https://oss.example.cn", work_dir=tmp_path)
    assert isinstance(store, S3BlobStore)
    assert store.object_key(f"sha256/ab/cd/{VALID_HEX}") == f"prod/sha256/ab/cd/{VALID_HEX}"
    assert store.spool.is_relative_to(tmp_path)  # write() spools on local disk, never in memory


@pytest.mark.parametrize(("url", "problem"), [
    ("s3://Upper_Case/x", "bucket name"),
    ("s3://ab/x", "bucket name"),
    ("s3://zhengwu-materials/a b", "prefix"),
    ("s3://zhengwu-materials/x?endpoint=127.0.0.1:8333", "endpoint"),
    ("s3://zhengwu-materials/x?endpoint=ftp://host", "endpoint"),
    ("s3://zhengwu-materials/x?endpoint=http://host:port", "port"),
    ("s3://zhengwu-materials/x?region=North China", "region"),
    ("s3://zhengwu-materials/x?addressing=sideways", "addressing"),
    ("s3://zhengwu-materials/x?endpont=http://host:1", "unknown"),
    ("s3://key:secret@zhengwu-materials/x", "credentials"),
    ("minio://127.0.0.1:9000/blobs", "spoken as S3"),
])
def test_bad_s3_urls_are_refused_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(UnsupportedStorageURL, match=problem):
        open_store(url)


async def test_an_unreachable_object_store_is_unavailable_and_leaves_nothing(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    store = open_store(f"s3://zhengwu-test/x?endpoint=http://127.0.0.1:{closed}", work_dir=tmp_path,
                       credentials={"access_key": "a", "secret_key": "b"})
    assert isinstance(store, S3BlobStore)
    try:
        with pytest.raises(StorageUnavailable, match="object storage unavailable"):
            await store.write(chunked(payload(300 * KiB)))
        assert temp_files(store) == []
        with pytest.raises(StorageUnavailable):
            await store.check()
        with pytest.raises(StorageUnavailable):
            async with store.open(f"sha256/ab/cd/{VALID_HEX}"):
                pass
        with pytest.raises(StorageUnavailable):
            await store.sweep_orphans(set(), older_than=timedelta(0))
    finally:
        await store.close()


@pytest.mark.parametrize("url", ["http://example.cn/blobs", "var/storage", "file://"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedStorageURL):
        open_store(url)
