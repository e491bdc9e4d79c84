"""Local-filesystem blob store (aiofiles), laid out as ``<root>/sha256/ab/cd/<hex>``.

A write streams into ``<root>/tmp/.upload-<uuid>`` (same filesystem, so the final rename is atomic),
hashing and counting as it goes; then flush, fsync, ``os.replace`` into place, fsync the
directories. Until the rename nothing is visible under ``sha256/``; on any error or cancellation
the temporary file is unlinked.

Two ``flock`` locks make the sweeper safe against live writers in any process on this host:

* each temporary file is locked by its writer for its whole life, so the sweeper only removes temps
  whose writer has died (the kernel drops the lock with the process);
* ``<root>/.lock`` is held shared by a writer while it places (or deduplicates onto) a blob, and
  exclusively by the sweeper while it re-checks a blob's age and unlinks it. A deduplicating write
  refreshes the blob's mtime under that lock, so the sweeper can never delete a blob that a write
  has just acknowledged.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import aiofiles
import aiofiles.os
from aiofiles.threadpool.binary import AsyncBufferedReader

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    InvalidBlobKey,
    Referenced,
    StorageFull,
    StorageUnavailable,
    StoredBlob,
    is_referenced,
)

# aiofiles sends every call to a thread, so batch small network chunks into large writes.
CHUNK_SIZE = 1024 * 1024
TEMP_PREFIX = ".upload-"
# The whole key, with the two directory levels repeating the first four hex digits: anything else
# (``..``, absolute paths, upper case, extra segments) is rejected before touching the filesystem.
_KEY_RE = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{60}")
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

_fsync = aiofiles.os.wrap(os.fsync)  # aiofiles has no fsync of its own


def key_for(sha256_hex: str) -> str:
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def fsync_dir(path: Path) -> None:
    """Make renames and new entries in ``path`` durable (POSIX needs the directory itself synced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore(BlobStore):
    def __init__(self, root: str | os.PathLike[str], *, chunk_size: int = CHUNK_SIZE) -> None:
        if chunk_size < 64 * 1024:
            raise ValueError("chunk_size below 64 KiB makes every thread hop too expensive")
        self.root = Path(root)
        self.chunk_size = chunk_size
        self._blobs = self.root / "sha256"
        self._tmp = self.root / "tmp"
        self._lock_file = self.root / ".lock"
        self._layout_ready = False

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise InvalidBlobKey(f"not a blob key: {key!r}")
        return self.root / key

    # -- writing -------------------------------------------------------------------------------

    async def write(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> StoredBlob:
        try:
            if not self._layout_ready:
                await asyncio.to_thread(self._ensure_layout)
            async with spooled(self._tmp, stream, max_bytes=max_bytes, chunk_size=self.chunk_size) as spool:
                key = key_for(spool.sha256)
                await asyncio.to_thread(self._place, spool.path, self.root / key)
                return StoredBlob(key=key, sha256=spool.sha256, size=spool.size)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull(f"no space left in blob storage at {self.root}") from exc
            raise

    async def write_file(self, path: Path, *, sha256: str | None = None, synced: bool = False) -> StoredBlob:
        """Hard-link a finished file into the store, so its bytes are written to disk once (a
        200 MB upload is not copied again); another filesystem falls back to streaming."""
        try:
            if not self._layout_ready:
                await asyncio.to_thread(self._ensure_layout)
            return await asyncio.to_thread(self._link_file, Path(path), sha256, synced)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return await super().write_file(path, sha256=sha256, synced=synced)
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull(f"no space left in blob storage at {self.root}") from exc
            raise

    def _link_file(self, path: Path, sha256: str | None, synced: bool) -> StoredBlob:
        """Runs in a thread. The caller's file and the blob share one inode afterwards: it must
        only ever be unlinked (the uploads service copies it first should it need to write).

        The link goes straight to the content address: ``link`` is atomic and never replaces an
        existing name, so no temporary name is needed (a crash leaves the blob or nothing)."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if sha256 is None:
                digest = hashlib.sha256()
                while block := os.read(fd, self.chunk_size):
                    digest.update(block)
                sha256 = digest.hexdigest()
            if not synced:
                os.fsync(fd)  # the bytes must be durable before a name in the store points at them
        finally:
            os.close(fd)
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        key = key_for(sha256)
        final = self.root / key
        self._name(final, lambda: os.link(path, final))
        return StoredBlob(key=key, sha256=sha256, size=size)

    def _ensure_layout(self) -> None:
        for directory in (self.root, self._blobs, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)
        self._lock_file.touch(exist_ok=True)
        self._layout_ready = True

    def _place(self, temp: Path, final: Path) -> None:
        """Runs in a thread: move a complete, fsynced temp file to its content address."""
        # Were the temporary name to come back after a crash, the sweeper removes it like any temp
        # whose writer has died: only the new name needs to be durable.
        if not self._name(final, lambda: os.replace(temp, final)):
            os.unlink(temp)

    def _name(self, final: Path, create: Callable[[], None]) -> bool:
        """Runs in a thread: give durable bytes their content address with ``create``, under the
        shared store lock (the sweeper cannot unlink ``final`` meanwhile). False when identical
        content is stored already: its mtime is refreshed instead, restarting its grace period, so a
        sweep that listed it as an old orphan will now leave it alone."""
        with self._store_lock(fcntl.LOCK_SH):
            try:
                os.utime(final)
                return False
            except FileNotFoundError:
                pass
            self._ensure_dir(final.parent)
            try:
                create()
            except FileExistsError:  # a concurrent write of the same bytes placed it first
                os.utime(final)
                return False
            fsync_dir(final.parent)
            return True

    def _ensure_dir(self, directory: Path) -> None:
        """mkdir -p, fsyncing each parent that gained an entry (else a crash could lose the dir)."""
        if directory.is_dir():
            return
        self._ensure_dir(directory.parent)
        try:
            directory.mkdir()
        except FileExistsError:  # a concurrent writer made it (and syncs its parent)
            return
        fsync_dir(directory.parent)

    @contextmanager
    def _store_lock(self, operation: int) -> Iterator[None]:
        fd = os.open(self._lock_file, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, operation)  # blocking, but only ever called from a worker thread
            yield
        finally:
            os.close(fd)  # also releases the lock

    # -- reading -------------------------------------------------------------------------------

    def open(self, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._open(key, self.path_for(key))

    @asynccontextmanager
    async def _open(self, key: str, path: Path) -> AsyncIterator[AsyncIterator[bytes]]:
        try:
            f = await aiofiles.open(path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            yield self._chunks(f)
        finally:
            await f.close()

    async def _chunks(self, f: AsyncBufferedReader) -> AsyncIterator[bytes]:
        while chunk := await f.read(self.chunk_size):
            yield chunk

    async def stat(self, key: str) -> BlobInfo | None:
        path = self.path_for(key)
        try:
            st = await aiofiles.os.stat(path)
        except FileNotFoundError:
            return None
        return BlobInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC))

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        with suppress(FileNotFoundError):
            await aiofiles.os.remove(path)

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self._ensure_layout)
        except OSError as exc:
            raise StorageUnavailable(f"blob storage at {self.root} is not usable: {exc.strerror or exc}") from exc

    async def prepare(self) -> None:
        await asyncio.to_thread(self._ensure_layout)

    async def keys(self) -> AsyncIterator[tuple[str, int]]:
        for key in await asyncio.to_thread(self._old_blobs, float("inf")):
            with suppress(FileNotFoundError):
                yield key, (await aiofiles.os.stat(self.root / key)).st_size

    # -- sweeping ------------------------------------------------------------------------------

    async def list_orphans(self, referenced: Referenced, *, older_than: timedelta) -> list[str]:
        old = await asyncio.to_thread(self._old_blobs, time.time() - older_than.total_seconds())
        return [key for key in old if not await is_referenced(referenced, key)]

    def _old_blobs(self, cutoff: float) -> list[str]:
        keys: list[str] = []
        if not self._blobs.is_dir():
            return keys
        for level1 in os.scandir(self._blobs):
            if not level1.is_dir(follow_symlinks=False):
                continue
            for level2 in os.scandir(level1.path):
                if not level2.is_dir(follow_symlinks=False):
                    continue
                for entry in os.scandir(level2.path):
                    key = f"sha256/{level1.name}/{level2.name}/{entry.name}"
                    # Anything not shaped like a blob is not ours to judge: leave it alone.
                    if _KEY_RE.fullmatch(key) and entry.is_file(follow_symlinks=False):
                        with suppress(FileNotFoundError):
                            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                                keys.append(key)
        keys.sort()
        return keys

    async def _delete_if_older(self, key: str, older_than: timedelta) -> bool:
        return await asyncio.to_thread(self._unlink_if_older, self.path_for(key), older_than)

    def _unlink_if_older(self, path: Path, older_than: timedelta) -> bool:
        with self._store_lock(fcntl.LOCK_EX):
            try:
                # Re-checked under the lock: a write may have deduplicated onto it since listing.
                if path.stat().st_mtime >= time.time() - older_than.total_seconds():
                    return False
                path.unlink()
            except FileNotFoundError:
                return False
            return True

    async def sweep_partial_writes(self, *, older_than: timedelta) -> int:
        return await asyncio.to_thread(sweep_temp_files, self._tmp, time.time() - older_than.total_seconds())


# -- temporary files, shared with the object-store backend (storage/s3.py spools through them) -----


@dataclass(slots=True)
class Spooled:
    path: Path  # the temporary file: complete and fsynced; gone (or renamed away) after the block
    sha256: str
    size: int


@asynccontextmanager
async def spooled(directory: Path, stream: AsyncIterable[bytes], *, max_bytes: int | None,
                  chunk_size: int = CHUNK_SIZE) -> AsyncIterator[Spooled]:
    """Stream into a new temporary file in ``directory`` (which must exist), hashing and counting
    on the way; flush and fsync; yield it. The block may rename the file away (the local store
    places it); whatever is left is unlinked on exit, after an error or a cancellation too.

    The file is ``flock``-ed by its writer for its whole life, so :func:`sweep_temp_files` only
    removes the temporary files of writers that have died (the kernel drops the lock with them)."""
    temp = directory / f"{TEMP_PREFIX}{uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    done = False
    f = None
    try:
        f = await aiofiles.open(temp, "xb")
        # Non-blocking on a file we just created exclusively; held until close.
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        buf = bytearray()
        async for chunk in stream:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise BlobTooLarge(max_bytes)
            digest.update(chunk)
            buf += chunk
            if len(buf) >= chunk_size:
                # Hand the full buffer to the thread and start a new one: no copy, and the
                # thread never sees a buffer we are still appending to.
                data, buf = buf, bytearray()
                await f.write(data)
                del data  # written: free it now, not when the next buffer is full (peak memory)
        if buf:
            await f.write(buf)
        await f.flush()
        await _fsync(f.fileno())
        yield Spooled(temp, digest.hexdigest(), size)
        done = True
    finally:
        # Synchronous on purpose: a second cancellation cannot interrupt it, and an unlink is one
        # quick metadata operation. Disk space returns when the file is closed below.
        with suppress(FileNotFoundError):
            os.unlink(temp)
        if f is not None:
            try:
                await f.close()
            except OSError:
                # After a failure the close may hit ENOSPC again flushing leftovers, which must
                # not mask the real error; after success there is nothing left to flush.
                if done:
                    raise


def sweep_temp_files(directory: Path, cutoff: float) -> int:
    """Runs in a thread: remove the temporary files of dead writers last modified before ``cutoff``."""
    removed = 0
    if not directory.is_dir():
        return removed
    for entry in os.scandir(directory):
        if not entry.name.startswith(TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it: a slow upload, not a crashed one
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
        finally:
            os.close(fd)
    return removed
