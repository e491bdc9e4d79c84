"""Blob storage against real files: streaming, durability bookkeeping, failure clean-up, sweeping."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import subprocess
import sys
import time
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
    UnsupportedStorageURL,
    open_store,
    storage_path,
)

KiB = 1024
MiB = 1024 * KiB
ODD_SIZES = (1, 7, 4093, 65_537, 1_000_003, 13, 250_001)


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
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


def blob_files(store: LocalBlobStore) -> list[Path]:
    return sorted(p for p in (store.root / "sha256").rglob("*") if p.is_file())


def temp_files(store: LocalBlobStore) -> list[Path]:
    tmp = store.root / "tmp"
    return sorted(tmp.iterdir()) if tmp.exists() else []


def assert_nothing_left(store: LocalBlobStore) -> None:
    assert blob_files(store) == []
    assert temp_files(store) == []


def age(path: Path, delta: timedelta) -> None:
    """Backdate a file's mtime, as if it had been written ``delta`` ago."""
    then = time.time() - delta.total_seconds()
    os.utime(path, (then, then))


# -- writing and reading -------------------------------------------------------------------------


async def test_round_trip_in_odd_chunks(store: LocalBlobStore) -> None:
    data = payload(3 * MiB + 12_345)
    blob = await store.write(chunked(data))

    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.size == len(data)
    assert blob.key == f"sha256/{blob.sha256[:2]}/{blob.sha256[2:4]}/{blob.sha256}"
    assert (store.root / blob.key).read_bytes() == data
    async with store.open(blob.key) as chunks:
        pieces = [chunk async for chunk in chunks]
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) <= store.chunk_size  # reads stream too
    assert temp_files(store) == []


async def test_empty_stream_is_a_valid_blob(store: LocalBlobStore) -> None:
    blob = await store.write(chunked(b""))
    assert (blob.size, blob.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await read_all(store, blob.key) == b""


async def test_identical_content_is_stored_once(store: LocalBlobStore) -> None:
    data = payload(2 * MiB)
    first = await store.write(chunked(data))
    second = await store.write(chunked(data, sizes=[MiB // 3]))
    assert first == second
    assert blob_files(store) == [store.root / first.key]
    assert temp_files(store) == []


async def test_concurrent_identical_writes_end_in_one_blob(store: LocalBlobStore) -> None:
    data = payload(MiB + 1, seed=9)
    blobs = await asyncio.gather(*(store.write(chunked(data, sizes=[size])) for size in ODD_SIZES[2:]))
    assert len({b.key for b in blobs}) == 1
    assert len(blob_files(store)) == 1
    assert temp_files(store) == []
    assert await read_all(store, blobs[0].key) == data


async def test_max_bytes_stops_the_stream_at_once_and_leaves_nothing(store: LocalBlobStore) -> None:
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
    assert_nothing_left(store)


async def test_max_bytes_is_inclusive(store: LocalBlobStore) -> None:
    data = payload(300 * KiB)
    blob = await store.write(chunked(data), max_bytes=len(data))
    assert blob.size == len(data)


async def test_dropped_connection_midway_leaves_nothing(store: LocalBlobStore) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield payload(2 * MiB)
        yield b"partial"
        assert len(temp_files(store)) == 1  # the upload really was on disk when it broke
        raise ConnectionResetError("phone lost signal")

    with pytest.raises(ConnectionResetError):
        await store.write(body())
    assert_nothing_left(store)


async def test_cancellation_midway_leaves_nothing(store: LocalBlobStore) -> None:
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
    assert_nothing_left(store)


_FLAT_MEMORY = """
import asyncio, sys, tracemalloc
from storage.local import LocalBlobStore

async def main() -> None:
    store = LocalBlobStore(sys.argv[1])
    piece = bytes(range(256)) * 256  # 64 KiB
    count = 800  # 50 MiB

    async def body():
        for _ in range(count):
            yield piece  # the same object each time: the stream itself allocates nothing

    await store.write(body())  # warm: imports, thread pool, directory layout
    tracemalloc.start()
    tracemalloc.reset_peak()
    blob = await store.write(body())
    _, peak = tracemalloc.get_traced_memory()
    assert blob.size == count * len(piece), blob.size
    print(peak)

asyncio.run(main())
"""


def test_fifty_megabytes_stream_through_flat_memory(tmp_path: Path) -> None:
    # In a process of its own: tracemalloc counts every thread's allocations, and in the test
    # process other tests' leftovers (pools, background tasks) would be counted as the store's.
    done = subprocess.run([sys.executable, "-c", _FLAT_MEMORY, str(tmp_path / "blobs")], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    peak = int(done.stdout.strip())
    # One write buffer (1 MiB, plus bytearray growth slack) and change; a non-streaming store
    # would peak at 50 MiB or more.
    assert peak < 4 * MiB, f"peak traced memory {peak / MiB:.1f} MiB while writing 50 MiB"


# -- lookups and keys ----------------------------------------------------------------------------


async def test_stat_exists_delete(store: LocalBlobStore) -> None:
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
async def test_keys_outside_the_layout_are_rejected(store: LocalBlobStore, key: str) -> None:
    outside = store.root.parent / "outside"
    outside.write_text("not a blob")
    for attempt in (store.stat, store.exists, store.delete):
        with pytest.raises(InvalidBlobKey):
            await attempt(key)
    with pytest.raises(InvalidBlobKey):
        store.open(key)
    assert outside.read_text() == "not a blob"


async def test_a_valid_key_that_was_never_written_is_simply_absent(store: LocalBlobStore) -> None:
    key = f"sha256/ab/cd/{VALID_HEX}"
    assert await store.stat(key) is None
    with pytest.raises(BlobNotFound) as caught:
        async with store.open(key):
            pass
    assert caught.value.key == key


# -- crashes and sweeping ------------------------------------------------------------------------

CRASHING_WRITER = """
import asyncio, sys
from storage.local import LocalBlobStore

async def body():
    yield b"x" * (2 * 1024 * 1024)
    print("written", flush=True)  # asked for more: the first chunk is on disk
    await asyncio.Event().wait()
    yield b""

asyncio.run(LocalBlobStore(sys.argv[1]).write(body()))
"""


async def test_sweep_removes_the_temp_file_of_a_killed_writer(store: LocalBlobStore) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WRITER, str(store.root), stdout=subprocess.PIPE, cwd=PROJECT_ROOT
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
    assert_nothing_left(store)


async def test_sweep_never_touches_a_live_upload_however_slow(store: LocalBlobStore) -> None:
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


async def test_orphans_are_old_unreferenced_blobs(store: LocalBlobStore) -> None:
    old_orphan = await store.write(chunked(b"abandoned draft"))
    old_kept = await store.write(chunked(b"submitted application"))
    fresh = await store.write(chunked(b"uploaded, row not committed yet"))
    for blob in (old_orphan, old_kept):
        age(store.root / blob.key, timedelta(days=2))
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


async def test_writing_identical_content_rescues_a_blob_from_the_sweep(store: LocalBlobStore) -> None:
    content = b"a photo someone uploaded long ago and deleted the draft of"
    blob = await store.write(chunked(content))
    age(store.root / blob.key, timedelta(days=2))
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


async def test_sweeping_an_empty_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "never-written")
    assert await store.list_orphans(set(), older_than=timedelta(0)) == []
    assert await store.sweep_orphans(set(), older_than=timedelta(0)) == 0


# -- storing a finished file ---------------------------------------------------------------------


async def test_write_file_links_the_file_into_the_store_without_a_copy(store: LocalBlobStore, tmp_path: Path) -> None:
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


async def test_write_file_hashes_when_not_told_and_dedupes(store: LocalBlobStore, tmp_path: Path) -> None:
    data = payload(200 * KiB, seed=12)
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(data)
    second.write_bytes(data)
    one = await store.write_file(first)
    two = await store.write_file(second)
    assert one == two and one.sha256 == hashlib.sha256(data).hexdigest()
    assert blob_files(store) == [store.root / one.key] and temp_files(store) == []
    assert second.stat().st_nlink == 1  # the duplicate was not linked


async def test_write_file_refuses_a_malformed_digest(store: LocalBlobStore, tmp_path: Path) -> None:
    source = tmp_path / "x"
    source.write_bytes(b"x")
    with pytest.raises(ValueError):
        await store.write_file(source, sha256="../../etc")
    assert blob_files(store) == [] and temp_files(store) == []


async def test_the_interface_default_streams_the_file(store: LocalBlobStore, tmp_path: Path) -> None:
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
    assert blob_files(store) == [store.root / small.key]
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


@pytest.mark.parametrize("url", ["s3://zhengwu-materials/prod", "minio://127.0.0.1:9000/blobs"])
def test_object_storage_is_not_implemented_yet(url: str) -> None:
    with pytest.raises(UnsupportedStorageURL, match="not implemented yet"):
        open_store(url)


@pytest.mark.parametrize("url", ["http://example.cn/blobs", "var/storage", "file://"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedStorageURL):
        open_store(url)
