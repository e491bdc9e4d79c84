"""The async blob-store interface every backend implements, and the errors callers may see.

Callers (the uploads service, certificate rendering, downloads) depend only on this module; the
local backend (storage/local.py) and the S3-compatible one (storage/s3.py) implement it.

Contract, in the order an upload uses it:

1. ``write`` (or ``write_file`` for a file already on local disk) streams the body into the store,
   computing SHA-256 and enforcing ``max_bytes`` on the way; it returns only after the blob is
   durable. On any failure or cancellation it leaves nothing behind. Blobs are content-addressed,
   so writing identical content twice yields one blob.
2. The caller then commits the database row that refers to ``StoredBlob.key``.
3. ``sweep_orphans`` later removes blobs no row refers to, but only once they are older than a
   grace period, so a blob written in step 1 whose row is not committed yet is never swept. A write
   that deduplicates onto an existing blob refreshes that blob's age for the same reason.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Container
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiofiles

#: Which keys the database still refers to: a set (or any container) read beforehand, or a
#: per-key predicate, sync or async, asked just before each deletion.
Referenced = Container[str] | Callable[[str], bool] | Callable[[str], Awaitable[bool]]


class StorageError(Exception):
    """Base class of every storage error."""


class BlobTooLarge(StorageError):
    """The stream exceeded ``max_bytes``; raised as soon as it did, with nothing stored."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"blob exceeds the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class BlobNotFound(StorageError, KeyError):
    """No blob is stored under this key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:  # KeyError would repr() the key
        return f"no blob stored under {self.key}"


class StorageFull(StorageError):
    """The storage device (or quota) is full; the partial write has been removed."""


class InvalidBlobKey(StorageError, ValueError):
    """The key does not have the store's key layout (this also rejects path traversal)."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or refuses to work (an object store that is down, timing out,
    or misconfigured); nothing was stored by the failed call. Retry later."""


class UnsupportedStorageURL(StorageError, ValueError):
    """``open_store`` was given a URL whose scheme has no backend (yet)."""


@dataclass(frozen=True, slots=True)
class StoredBlob:
    key: str
    sha256: str  # lower-case hex
    size: int


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    modified: datetime  # timezone-aware UTC; refreshed when a write deduplicates onto the blob


async def is_referenced(referenced: Referenced, key: str) -> bool:
    """Ask a :data:`Referenced` whether ``key`` is in use, whatever form it takes."""
    if callable(referenced):
        answer = referenced(key)
        return bool(await answer) if inspect.isawaitable(answer) else bool(answer)
    return key in referenced


class BlobStore(abc.ABC):
    """Content-addressed blob storage. Keys are opaque to callers: store them, never build them."""

    @abc.abstractmethod
    async def write(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> StoredBlob:
        """Store everything ``stream`` yields and return once it is durable.

        Raises :class:`BlobTooLarge` as soon as more than ``max_bytes`` arrive, :class:`StorageFull`
        when the device is full, and re-raises whatever the stream raises (a dropped connection);
        in every failure case, cancellation included, nothing is left behind.
        """

    async def write_file(self, path: Path, *, sha256: str | None = None, synced: bool = False) -> StoredBlob:
        """Store the content of a finished local file; durable on return, like :meth:`write`.

        ``sha256`` (lower-case hex), when the caller already computed it while receiving the
        bytes, lets a backend skip hashing; ``synced`` says the caller has fsynced the file, so a
        backend that keeps the file's own bytes need not sync them again. The caller must not
        modify the file afterwards (the local backend may share its bytes with the blob): delete
        it or leave it as it is. This default streams the file through :meth:`write`.
        """

        async def chunks() -> AsyncIterator[bytes]:
            async with aiofiles.open(path, "rb") as f:
                while chunk := await f.read(1024 * 1024):
                    yield chunk

        return await self.write(chunks())

    @abc.abstractmethod
    async def check(self) -> None:
        """Raise :class:`StorageUnavailable` unless the store can be used now (start-up, readiness)."""

    @abc.abstractmethod
    async def prepare(self) -> None:
        """Create what the store needs (a directory, a bucket) when it is missing; idempotent."""

    async def close(self) -> None:
        """Release connections (an app's shutdown); the store opens them again when used."""
        return None  # the local store holds none

    @abc.abstractmethod
    def keys(self) -> AsyncIterator[tuple[str, int]]:
        """Every blob's key and size, in key order (backups list the store with it)."""

    @abc.abstractmethod
    def open(self, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with store.open(key) as chunks: async for chunk in chunks: ...``

        Raises :class:`BlobNotFound` on entry, before any byte is produced (so an HTTP handler can
        still answer 404), and releases the underlying handle on exit.
        """

    @abc.abstractmethod
    async def stat(self, key: str) -> BlobInfo | None:
        """Size and age of a blob, or ``None`` when absent."""

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove a blob; removing an absent blob is not an error (as in S3).

        Because content is deduplicated, several rows may share one blob: delete only when you know
        none refers to it, and prefer :meth:`sweep_orphans`, which is safe against concurrent writes.
        """

    @abc.abstractmethod
    async def list_orphans(self, referenced: Referenced, *, older_than: timedelta) -> list[str]:
        """Keys of blobs that ``referenced`` does not know and that are older than ``older_than``.

        ``older_than`` is the grace period: it must exceed the longest time between ``write``
        returning and the referring row being committed, plus the time since ``referenced`` was read.
        """

    @abc.abstractmethod
    async def sweep_partial_writes(self, *, older_than: timedelta) -> int:
        """Remove writes abandoned by a crashed process (older than ``older_than``); return how many."""

    @abc.abstractmethod
    async def _delete_if_older(self, key: str, older_than: timedelta) -> bool:
        """Delete ``key`` unless a write touched it within ``older_than``, atomically with respect
        to concurrent writes; return whether it was deleted."""

    async def sweep_orphans(self, referenced: Referenced, *, older_than: timedelta) -> int:
        """Delete orphaned blobs and abandoned partial writes; return how many files were removed."""
        removed = 0
        for key in await self.list_orphans(referenced, older_than=older_than):
            # Ask again just before deleting: a row may have been committed since the listing.
            if not await is_referenced(referenced, key) and await self._delete_if_older(key, older_than):
                removed += 1
        return removed + await self.sweep_partial_writes(older_than=older_than)
