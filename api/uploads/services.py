"""The rules of resumable uploads (tus 1.0), testable without HTTP.

Durability: a chunk is appended to ``<storage root>/uploads/partial/<id>``, fsynced, and only then
is the new offset committed; the committed ``upload_offset`` is what HEAD reports, so an offset
once acknowledged survives a crash. Bytes past it (a crash between fsync and commit) are cut off
before the next chunk is written.

Concurrency: one PATCH at a time per upload — an asyncio lock per upload in this process, a
non-blocking ``flock`` on the partial file against other processes on this host (the loser gets
409), and the offset update is conditional on the offset read (``WHERE upload_offset = old``), so
no process can ever append twice at one offset.

Completion (offset == length): the partial file is validated/normalised (``api.uploads.validation
.normalise``; imported with this module, so the first upload does not pay for loading pikepdf and
Pillow) and put into the blob store (durable on return), and
the upload row is marked completed in the same transaction that attaches the blob to the case
material; the partial file is removed only after that commit. The SHA-256 of the acknowledged
bytes is kept up to date while they arrive, so an accepted PDF is hard-linked into the store
without being read or copied again: the last PATCH of a 200 MB file costs a PDF object walk, not
400 MB of I/O. That running hash lives in the process that received the bytes; a PATCH served by
another process (after a restart, or another worker behind a proxy that does not keep a client on
one connection) leaves it unknown, and the file is then hashed once, at completion — never the
prefix again at every such PATCH, which made a 200 MB upload cost O(n²) across workers.

Access: an upload or a case that is not the caller's does not exist for them (404, never 403).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import logging
import mmap
import os
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiofiles
from tortoise.transactions import in_transaction

from api.cases import services as cases
from api.cases.models import Case, CaseMaterial
from api.catalog.document import DEFAULT_ACCEPTED_TYPES
from api.catalog.models import MaterialRequirement
from api.core.bounds import id_from_text
from api.core.errors import (
    ChecksumMismatch,
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    NotFound,
    StorageFull,
    TooLarge,
    Unavailable,
)
from api.core.settings import DEFAULT_MAX_UPLOAD_MB
from api.identity.principal import Principal
from api.uploads import validation
from api.uploads.models import COMPLETED, EXPIRED, PARTIAL, REJECTED, Upload
from api.workflow import states
from api.workflow.states import CORRECTION
from storage import BlobStore, StorageUnavailable, StoredBlob
from storage.local import fsync_dir

log = logging.getLogger("zhengwu.uploads")

UPLOAD_TTL = dt.timedelta(hours=24)  # after the last activity
STORAGE_RETRY_AFTER = 10  # seconds: an object store that is down is asked again after this
MAX_UPLOAD_SIZE = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024  # default Tus-Max-Size (ZHENGWU_MAX_UPLOAD_MB)
MAX_CHUNK_SIZE = 8 * 1024 * 1024  # one PATCH body (the route's request_max_body_size)
ORPHAN_GRACE = dt.timedelta(hours=1)  # a partial file without a partial row is removed after this
WRITE_BUFFER = 1024 * 1024  # batch network chunks into large writes (each write is a thread hop)
SYNC_EVERY = 2 * WRITE_BUFFER  # page-cache writes: flush during a PATCH, not only at its end
DIRECT_ALIGN = 4096  # O_DIRECT offsets, lengths and memory: a multiple of every logical block size
STAGING_SIZE = 2 * WRITE_BUFFER  # one aligned buffer per PATCH being written, reused across PATCHes
IN_FLIGHT = 4 * WRITE_BUFFER  # received bytes a PATCH hands to its write and hash jobs before it waits
STAGING_POOL = 16  # idle buffers kept (2 MiB each); more concurrent PATCHes map and unmap their own

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
# Page-aligned buffers for O_DIRECT writes. Reused: mapping a fresh one per PATCH cost 15 % of the
# server's CPU in page faults and unmapping (perf). list.append/pop are atomic under the GIL.
_staging_pool: list[mmap.mmap] = []
# upload id → (acknowledged offset, SHA-256 of the bytes up to it), most recently used last.
_running: OrderedDict[str, tuple[int, Any]] = OrderedDict()
RUNNING_HASHES = 10_000  # bound the cache; an evicted upload is hashed from its file at completion


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OffsetMismatch(Conflict):
    """The client's offset is not the server's: it asks (HEAD) and resumes from ``offset`` (when known)."""

    def __init__(self, detail: str, offset: int | None = None) -> None:
        super().__init__("上传位置不一致，请先查询已上传的进度", detail, "Upload-Offset")
        self.offset = offset


def not_found(upload_id: str) -> NotFound:
    return NotFound("没有找到这个上传任务", f"upload not found: {upload_id}")


def gone(upload: Upload) -> Gone:
    state = EXPIRED if upload.state == PARTIAL else upload.state
    reason = "已过期" if state == EXPIRED else "未通过检查"
    return Gone(f"这个上传任务{reason}，请重新上传", f"upload is {state}")


def partial_dir(storage_root: Path) -> Path:
    return storage_root / "uploads" / "partial"


def _partial_path(storage_root: Path, upload_id: str) -> Path:
    return partial_dir(storage_root) / upload_id


def _lock(upload_id: str) -> asyncio.Lock:
    lock = _locks.get(upload_id)
    if lock is None:
        lock = _locks[upload_id] = asyncio.Lock()
    return lock


# --------------------------------------------------------------------------- metadata


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64`` (tus creation extension) → text values."""
    out: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput("上传信息格式不正确", f"Upload-Metadata value of '{key}' is not base64 UTF-8",
                           "Upload-Metadata") from None
    return out


def parse_checksum(header: str | None) -> bytes | None:
    """``Upload-Checksum: sha256 <base64 digest>`` → the digest (400 for other algorithms)."""
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise InvalidInput("不支持这种校验算法，请使用 sha256", f"unsupported checksum algorithm: {algorithm}",
                       "Upload-Checksum")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise InvalidInput("校验值格式不正确", "Upload-Checksum is not a base64 sha256 digest", "Upload-Checksum")
    return digest


# --------------------------------------------------------------------------- reading


async def own_upload(principal: Principal, upload_id: str, *, now: dt.datetime | None = None,
                     allow_done: bool = True) -> Upload:
    """The caller's upload: 404 when unknown or someone else's, 410 when expired or rejected."""
    if principal.kind != "citizen" or len(upload_id) != 32:
        raise not_found(upload_id)
    upload = await Upload.filter(id=upload_id, owner=principal.subject).first()
    if upload is None:
        raise not_found(upload_id)
    now = now or _now()
    if upload.state in (REJECTED, EXPIRED) or (upload.state == PARTIAL and upload.expires_at <= now):
        raise gone(upload)
    if upload.state == COMPLETED and not allow_done:
        raise Conflict("这个文件已经上传完成", "upload already completed", "Upload-Offset")
    return upload


# --------------------------------------------------------------------------- creation


async def create(principal: Principal, storage_root: Path, length: int, metadata: dict[str, str],
                 *, now: dt.datetime | None = None, max_size: int = MAX_UPLOAD_SIZE) -> Upload:
    """A new upload for a material on the caller's own draft (404 for anyone else's case)."""
    if length < 0:
        raise InvalidInput("文件大小不正确", "Upload-Length must be a non-negative integer", "Upload-Length")
    if length > max_size:
        raise TooLarge(f"文件太大，最大 {max_size // (1024 * 1024)} MB", f"Upload-Length exceeds {max_size}",
                       "Upload-Length")
    raw_case = metadata.get("case_id", "")
    if not raw_case.isdigit():
        raise InvalidInput("上传信息缺少办件编号", "Upload-Metadata needs case_id", "case_id")
    code = metadata.get("material_id", "")
    if not code:
        raise InvalidInput("上传信息缺少材料编号", "Upload-Metadata needs material_id", "material_id")
    case_id = id_from_text(raw_case, "case_id")
    # One query when all is well (the caller's case lists the material); the errors are told apart
    # afterwards, in the order a person fixes them: whose case, its state, the material.
    state = None
    if principal.kind == "citizen":
        state = await CaseMaterial.filter(case_id=case_id, code=code, case__applicant_id=principal.id).first() \
            .values_list("case__state", flat=True)  # type: ignore[attr-defined]
    listed = state is not None
    if not listed:
        state = (await cases.own_case(principal, case_id)).state  # 404 for anyone else's case
    if state == CORRECTION:  # only the materials the one-time notice lists
        await cases.may_attach(principal, await cases.own_case(principal, case_id), code)
    else:
        states.decide(str(state), "update", principal.role)  # attaching a material changes the draft
    if not listed:
        raise NotFound(f"本办件的材料清单中没有这项材料：{code}", f"material not on this case's list: {code}",
                       "material_id")
    now = now or _now()
    # The partial file is created by the first PATCH (at offset 0), which makes it durable with
    # its first bytes: an empty file is worth no fsync, and losing it in a crash loses nothing.
    return await Upload.create(
        id=uuid.uuid4().hex, owner=principal.subject, case_id=case_id, material_code=code,
        filename=cases.sanitise_filename(metadata.get("filename", "")), upload_length=length,
        upload_offset=0, state=PARTIAL, expires_at=now + UPLOAD_TTL,
    )


# --------------------------------------------------------------------------- appending


@dataclass(slots=True)
class Appended:
    upload: Upload
    completed: bool


class _Partial:
    """The partial file, opened and flock-ed for one PATCH (its writes and fsyncs run in threads).

    ``digest`` hashes the whole file as it grows (seeded from the running cache; None when the
    cache does not know the acknowledged prefix); ``chunk_digest`` only this PATCH's body, when a
    checksum was sent.

    Whole aligned blocks go to disk with ``O_DIRECT`` from a page-aligned buffer: copying them into
    the page cache cost 2–3 ms of CPU per MiB on our machines (42 % of the server's CPU in an
    upload, ``copy_folio_from_iter_atomic``), direct writes 0.1–0.2 ms, and the data must reach the
    disk before the PATCH is acknowledged anyway. The unaligned head and tail of each PATCH go
    through the page cache (a block is never written both ways). Received chunks are copied once,
    into the aligned buffer, which is written out when full and at the end of each batch; what is
    short of a whole block stays there until the next batch or the final ``sync``. Filesystems without
    ``O_DIRECT`` (tmpfs on older kernels, some network filesystems) use the page cache throughout."""

    def __init__(self, path: Path, offset: int, upload_id: str) -> None:
        self.path = path
        self.created = False  # this PATCH created the file: its directory entry must be synced too
        self.fd = self._open_locked(path, create=offset == 0)
        if os.fstat(self.fd).st_nlink > 1:
            # A completion linked this file into the blob store and the process died before its
            # commit: the inode is the stored blob's too, so write to a private copy instead.
            self._unshare(path, offset)
        os.ftruncate(self.fd, offset)  # bytes past the acknowledged offset were never acknowledged
        self.offset = offset  # bytes accepted: written, or staged
        self.written = offset  # bytes in the file
        self.fill = 0  # bytes staged in the aligned buffer, not yet written
        self.dfd: int | None = None
        self.staging: mmap.mmap | None = None
        with contextlib.suppress(OSError):  # EINVAL where the filesystem has no direct I/O
            self.dfd = os.open(path, os.O_WRONLY | os.O_DIRECT | os.O_CLOEXEC)
        cached = _running.get(upload_id)
        # A copy: a rolled-back PATCH must not touch the cache. None: the bytes before ``offset``
        # were hashed elsewhere (or not at all), so the file is hashed at completion instead.
        if offset == 0:
            self.digest: Any = hashlib.sha256()
        else:
            self.digest = cached[1].copy() if cached is not None and cached[0] == offset else None
        self.chunk_digest: Any = None
        self.failed = False  # a write raised: the file's end is unknown, so nothing more is kept
        self.unsynced = 0

    def _open_locked(self, path: Path, *, create: bool = False) -> int:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            if not create:
                raise Gone("上传的临时文件已丢失，请重新上传", "partial file missing") from None
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                self.created = True
            except FileExistsError:  # another request created it a moment ago
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Conflict("另一个请求正在上传这个文件，请稍后查询进度", "upload is locked by another request",
                           "Upload-Offset") from None
        return fd

    def _unshare(self, path: Path, offset: int) -> None:
        temp = path.with_name(f"{path.name}.unshare")
        with open(temp, "wb") as out:
            os.lseek(self.fd, 0, os.SEEK_SET)
            remaining = offset
            while remaining > 0 and (block := os.read(self.fd, min(WRITE_BUFFER, remaining))):
                out.write(block)
                remaining -= len(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        fsync_dir(path.parent)
        os.close(self.fd)
        self.fd = self._open_locked(path)

    def store(self, chunks: list[bytes]) -> None:
        """Write the chunks at the file's end; may run in parallel with :meth:`hash` (they share
        no state), never with another ``store``."""
        if self.failed:
            raise OSError(errno.EIO, "an earlier write to this partial file failed")
        try:
            for chunk in chunks:
                if self.dfd is None:
                    self._buffered(chunk)
                else:
                    self._stage(memoryview(chunk))
                self.offset += len(chunk)
            if self.dfd is not None and self.fill >= DIRECT_ALIGN:
                self._write_staged(self.fill // DIRECT_ALIGN * DIRECT_ALIGN)
        except OSError:
            self.failed = True
            raise

    def store_and_sync(self, chunks: list[bytes]) -> None:
        self.store(chunks)
        self.sync()

    def hash(self, chunk: bytes) -> None:
        if self.digest is not None:
            self.digest.update(chunk)
        if self.chunk_digest is not None:
            self.chunk_digest.update(chunk)

    def _buffered(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, self.written)
            view = view[n:]
            self.written += n
            self.unsynced += n
        if self.unsynced >= SYNC_EVERY:
            # Flush while the rest of the body is still arriving, so the fsync that acknowledges
            # the PATCH has little left to do.
            os.fdatasync(self.fd)
            self.unsynced = 0

    def _stage(self, data: memoryview) -> None:
        """Copy into the aligned buffer (its start is always on a block boundary of the file),
        writing it out directly whenever it is full. Up to the first block boundary of an unaligned
        file end goes through the page cache."""
        if self.fill == 0 and self.written % DIRECT_ALIGN:
            head = min(DIRECT_ALIGN - self.written % DIRECT_ALIGN, len(data))
            self._buffered(data[:head])
            data = data[head:]
        while data:
            if self.dfd is None:  # direct I/O was refused meanwhile
                self._buffered(data)
                return
            if self.staging is None:
                self.staging = _staging_pool.pop() if _staging_pool else mmap.mmap(
                    -1, STAGING_SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            n = min(STAGING_SIZE - self.fill, len(data))
            self.staging[self.fill:self.fill + n] = data[:n]
            self.fill += n
            data = data[n:]
            if self.fill == STAGING_SIZE:
                self._write_staged(STAGING_SIZE)

    def _write_staged(self, length: int) -> None:
        """Write the first ``length`` bytes (whole blocks) of the aligned buffer at the file's end
        and keep the rest at its start."""
        assert self.staging is not None and self.dfd is not None
        view = memoryview(self.staging)
        done = 0
        try:
            while done < length:
                n = os.pwrite(self.dfd, view[done:length], self.written)
                done += n
                self.written += n
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            os.close(self.dfd)  # the device wants another alignment: the page cache it is
            self.dfd = None
            self._buffered(view[done:self.fill])  # everything staged, in order
            self.fill = 0
            return
        finally:
            view.release()
        if length < self.fill:
            self.staging.move(0, length, self.fill - length)
        self.fill -= length

    def _flush_pending(self) -> None:
        """Bytes still in the aligned buffer (less than a block, unless direct I/O was refused)."""
        if self.fill:
            assert self.staging is not None
            view = memoryview(self.staging)
            try:
                self._buffered(view[:self.fill])
            finally:
                view.release()
            self.fill = 0

    def rollback(self, offset: int) -> None:
        os.ftruncate(self.fd, offset)
        self.offset = self.written = offset
        self.fill = 0
        self.digest = None  # no longer the file's hash: never cache it
        os.fsync(self.fd)

    def sync(self) -> None:
        try:
            self._flush_pending()
        except OSError:
            self.failed = True
            raise
        os.fsync(self.fd)  # the inode: data written either way, the size, the device's cache
        if self.created:
            fsync_dir(self.path.parent)
            self.created = False

    def close(self) -> None:
        if self.dfd is not None:
            os.close(self.dfd)
        if self.staging is not None:
            if len(_staging_pool) < STAGING_POOL:
                _staging_pool.append(self.staging)
            else:
                self.staging.close()
            self.staging = None
        os.close(self.fd)  # also drops the flock


def _remember(upload_id: str, offset: int, digest: Any) -> None:
    if digest is None:
        return
    _running[upload_id] = (offset, digest)
    _running.move_to_end(upload_id)
    while len(_running) > RUNNING_HASHES:
        _running.popitem(last=False)


def _forget(upload_id: str) -> None:
    _running.pop(upload_id, None)


async def append(
    principal: Principal, storage_root: Path, blobs: BlobStore, upload_id: str, offset: int,
    body: AsyncIterable[bytes], checksum: bytes | None = None, *, now: dt.datetime | None = None,
    created: Upload | None = None,
) -> Appended:
    """Append one PATCH body at ``offset``; complete the upload when it reaches its length.

    ``created``: the upload :func:`create` has just returned to this request (creation with
    upload), so it need not be read back."""
    async with _lock(upload_id):  # read under the lock: the row is what the last PATCH left
        if created is not None and created.id == upload_id:
            upload = created
        else:
            upload = await own_upload(principal, upload_id, now=now, allow_done=False)
        start = upload.upload_offset
        if offset != start:
            raise OffsetMismatch(f"Upload-Offset {offset} != {start}", start)
        path = _partial_path(storage_root, upload_id)
        cached = _running.get(upload_id)
        if start == 0 or (cached is not None and cached[0] == start):
            partial = _Partial(path, start, upload_id)  # a few quick syscalls: not worth a thread hop
        else:
            # Another process received the earlier bytes, or this one restarted: the file may
            # also need the private copy of _Partial._unshare, which is no work for the loop.
            partial = await asyncio.to_thread(_Partial, path, start, upload_id)
        # A PATCH that may complete the upload looks up the material's limits while the body
        # arrives, rather than after it (that query is most of a PostgreSQL round trip).
        requirement = asyncio.ensure_future(_requirement(upload)) \
            if upload.upload_length - start <= MAX_CHUNK_SIZE else None
        try:
            end = await _receive(partial, body, upload, checksum)
            if end == start and upload.upload_length != 0:
                return Appended(upload, False)
            if end < upload.upload_length:
                updated = await Upload.filter(id=upload_id, state=PARTIAL, upload_offset=start).update(
                    upload_offset=end, expires_at=(now or _now()) + UPLOAD_TTL)
                if not updated:  # another process moved it (only possible without a shared flock)
                    await asyncio.to_thread(partial.rollback, start)
                    raise OffsetMismatch("offset changed concurrently")
                upload.upload_offset = end
                _remember(upload_id, end, partial.digest)
                return Appended(upload, False)
            sha256 = partial.digest.hexdigest() if partial.digest is not None else None  # None: the store hashes
            await _complete(principal, storage_root, blobs, upload, start, sha256, now=now, requirement=requirement)
            return Appended(upload, True)
        finally:
            partial.close()
            if requirement is not None:  # unused when the body ended early: let the query finish
                requirement.add_done_callback(_retrieved)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # marks it retrieved; an error that mattered was raised where awaited


async def _receive(partial: _Partial, body: AsyncIterable[bytes], upload: Upload, checksum: bytes | None) -> int:
    """Write the body at the partial file's end; fsync; return the new length (durable on return).

    Over-long bodies (past Upload-Length) and checksum mismatches leave the file as it was. A body
    cut off by the client (no checksum given) keeps what arrived, as tus recommends.

    Receiving, hashing and writing overlap: each chunk is hashed as it arrives, right here (hashlib
    releases the GIL, so the writes go on meanwhile; a thread job per batch for hashing cost more
    CPU in wake-ups than the hashing itself saved the event loop), and chunks are handed on in
    batches of about ``WRITE_BUFFER`` bytes to a chain of thread jobs that write the file, each
    after the one before; the socket is read on until ``IN_FLIGHT`` bytes wait in the chain
    (awaiting each write stalled the socket: uvicorn stops reading when the app does)."""
    start = partial.offset
    if checksum is not None:
        partial.chunk_digest = hashlib.sha256()
    received = start
    batch: list[bytes] = []
    batched = 0
    pipe = _Pipeline(partial)
    try:
        async for chunk in body:
            if not chunk:
                continue
            received += len(chunk)
            if received > upload.upload_length:
                raise TooLarge("上传的内容超出了声明的文件大小", "body goes past Upload-Length", "Upload-Length")
            partial.hash(chunk)
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BUFFER:
                await pipe.room_for(batched)  # a drop while waiting here still finds these bytes in `batch`
                pipe.push(batch, batched)
                batch, batched = [], 0
        pipe.push(batch, batched, sync=True)  # the last write job also fsyncs (one thread hop less)
        batch, batched = [], 0
        await pipe.drain()
        if checksum is not None and partial.chunk_digest.digest() != checksum:
            raise ChecksumMismatch("数据校验失败，本段内容未保存，请重新上传这一段", "Upload-Checksum mismatch",
                                   "Upload-Checksum")
        return partial.offset
    except DomainError:
        await pipe.settle()
        await asyncio.to_thread(partial.rollback, start)
        raise
    except BaseException as exc:
        await pipe.settle()
        # The connection dropped (or the task was cancelled): keep the bytes that arrived intact,
        # unless a checksum was promised for the whole chunk or a write failed. The caller's
        # offset update does not run, so they are cut off again unless we acknowledge them here.
        if checksum is not None or partial.failed or (not batch and partial.offset == start):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(partial.rollback, start)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull("服务器存储空间暂时不足，本段内容未保存，请稍后继续上传",
                                  "no space left for uploads; nothing of this request was kept") from None
            raise
        with contextlib.suppress(Exception):
            if batch:
                await asyncio.to_thread(partial.store, batch)  # hashed already, as it arrived
            await asyncio.to_thread(partial.sync)
            if not partial.failed:
                await Upload.filter(id=upload.id, state=PARTIAL, upload_offset=start).update(
                    upload_offset=partial.offset, expires_at=_now() + UPLOAD_TTL)
        raise


class _Pipeline:
    """The write chain of one PATCH (see :func:`_receive`)."""

    def __init__(self, partial: _Partial) -> None:
        self.partial = partial
        self.stored: asyncio.Future[None] | None = None  # the last write job
        self.waiting: collections.deque[tuple[asyncio.Future[None], int]] = collections.deque()
        self.in_flight = 0

    def push(self, batch: list[bytes], size: int, *, sync: bool = False) -> None:
        work = self.partial.store_and_sync if sync else self.partial.store
        self.stored = asyncio.ensure_future(_after(self.stored, work, batch))
        self.waiting.append((self.stored, size))
        self.in_flight += size

    async def room_for(self, size: int) -> None:
        """Wait until ``size`` more bytes fit in flight, raising a write's error."""
        while self.waiting and self.in_flight + size > IN_FLIGHT:
            stored, done = self.waiting.popleft()
            await stored
            self.in_flight -= done

    async def drain(self) -> None:
        await self.room_for(IN_FLIGHT + 1)

    async def settle(self) -> None:
        """Wait for every job to end (their threads run on regardless of cancellation) before the
        file is rolled back or acknowledged; their failures show in ``partial.failed``."""
        if self.stored is None:
            return
        while not self.stored.done():  # the last job ends after all the others (see _after)
            with contextlib.suppress(BaseException):
                await asyncio.shield(self.stored)
        for job in (self.stored, *(stored for stored, _ in self.waiting)):
            if not job.cancelled():
                job.exception()  # retrieved
        self.waiting.clear()


async def _after(previous: asyncio.Future[None] | None, work: Any, batch: list[bytes]) -> None:
    """``work(batch)`` in a thread once the previous job has ended (however it ended: a failed
    write marks the partial file failed, and the next write refuses to run)."""
    if previous is not None and not previous.done():
        await asyncio.wait([previous])
    await asyncio.to_thread(work, batch)


# --------------------------------------------------------------------------- completion


@dataclass(frozen=True, slots=True)
class ToStore:
    path: Path  # the file to store (the partial file itself when nothing normalised it)
    mime: str
    cleanup: Path | None = None  # the normaliser's output file, removed after storing
    sha256: str | None = None  # when ``path`` is the partial file and was hashed while receiving
    synced: bool = False  # the partial file itself: fsynced by the PATCH


# (item version, situation, material) → (accepted types, size limit). Published catalog versions
# are immutable, so this never goes stale; bounded all the same.
_requirements: OrderedDict[tuple[int, str, str], tuple[list[str], int]] = OrderedDict()
REQUIREMENTS_CACHED = 4096


async def _requirement(upload: Upload) -> tuple[list[str], int]:
    return await requirement_of(upload.case_id, upload.material_code)  # type: ignore[attr-defined]


async def requirement_of(case_id: int, material_code: str) -> tuple[list[str], int]:
    """The accepted types and size limit of the material in the case's catalog version."""
    version_id, situation = (await Case.filter(id=case_id).first()
                             .values_list("item_version_id", "situation_code"))  # type: ignore[misc]
    key = (version_id, situation or "", material_code)
    found = _requirements.get(key)
    if found is None:
        query = MaterialRequirement.filter(version_id=version_id, code=material_code)
        requirement = await query.filter(situation__code=situation).first() or await query.first()
        if requirement is None or not requirement.accepted_types:
            found = list(DEFAULT_ACCEPTED_TYPES), (requirement.max_size_mb if requirement else 10) * 1024 * 1024
        else:
            found = list(requirement.accepted_types), requirement.max_size_mb * 1024 * 1024
        _requirements[key] = found
        while len(_requirements) > REQUIREMENTS_CACHED:
            _requirements.popitem(last=False)
    return list(found[0]), found[1]


async def _normalise(path: Path, upload: Upload, storage_root: Path, sha256: str | None,
                     requirement: Awaitable[tuple[list[str], int]] | None = None) -> ToStore:
    accepted, max_bytes = await (requirement if requirement is not None else _requirement(upload))
    workdir = storage_root / "uploads" / "normalised"
    try:
        result = await asyncio.to_thread(validation.normalise, path, accepted_types=accepted, max_bytes=max_bytes,
                                         workdir=workdir)
    except validation.MaterialRejected as exc:
        raise exc.kind(exc.message_zh, exc.detail_en, "file") from None
    if result.is_source:  # stored byte for byte: the partial file itself
        return ToStore(path, result.mime, sha256=sha256, synced=True)
    return ToStore(Path(result.path), result.mime, Path(result.path))


async def store_scan(principal: Principal, storage_root: Path, blobs: BlobStore, case_id: int, material_code: str,
                     body: AsyncIterator[bytes], filename: str) -> None:
    """A material scanned at a window (a walk-in application): received whole in one request, then
    checked and normalised exactly as an upload is, stored, and attached for the applicant."""
    accepted, max_bytes = await requirement_of(case_id, material_code)
    workdir = storage_root / "uploads" / "normalised"
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    path = workdir / f"scan-{uuid.uuid4().hex}"
    size = 0
    try:
        async with aiofiles.open(path, "xb") as f:
            async for chunk in body:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"文件太大，最大 {max_bytes // (1024 * 1024)} MB", f"scan exceeds {max_bytes}",
                                   "file")
                await f.write(chunk)
        if size == 0:
            raise InvalidInput("没有收到扫描文件", "empty scan", "file")
        try:
            result = await asyncio.to_thread(validation.normalise, path, accepted_types=accepted,
                                             max_bytes=max_bytes, workdir=workdir)
        except validation.MaterialRejected as exc:
            raise exc.kind(exc.message_zh, exc.detail_en, "file") from None
        stored = Path(result.path)
        try:
            blob = await blobs.write_file(stored)
        finally:
            if not result.is_source:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(stored)  # one quick metadata call
        await cases.attach_material(principal, case_id, material_code, blob, filename or "scan", result.mime)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


async def _reject(upload: Upload, storage_root: Path, start: int) -> None:
    _forget(upload.id)
    await Upload.filter(id=upload.id, state=PARTIAL, upload_offset=start).update(
        state=REJECTED, upload_offset=upload.upload_length)
    upload.state = REJECTED
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(os.unlink, _partial_path(storage_root, upload.id))


async def _complete(principal: Principal, storage_root: Path, blobs: BlobStore, upload: Upload, start: int,
                    sha256: str | None, *, now: dt.datetime | None = None,
                    requirement: Awaitable[tuple[list[str], int]] | None = None) -> None:
    path = _partial_path(storage_root, upload.id)
    try:
        normalised = await _normalise(path, upload, storage_root, sha256, requirement)
    except DomainError:
        await _reject(upload, storage_root, start)
        raise
    try:
        # The partial file was fsynced before this (``_Partial.sync``); a normaliser's output was not.
        blob: StoredBlob = await blobs.write_file(normalised.path, sha256=normalised.sha256,
                                                  synced=normalised.synced)
    except StorageUnavailable as exc:
        # The object store is down: the offset stays where the last acknowledged chunk left it
        # (this PATCH is not acknowledged), the partial file keeps every acknowledged byte, and the
        # client sends this last chunk again once the store is back.
        log.warning("upload %s not completed: %s", upload.id, exc)
        raise Unavailable("文件存储服务暂时不可用，已上传的内容已保存，请稍后重试本次上传",
                          "object storage unavailable; every acknowledged chunk is kept, retry this one",
                          "file", retry_after=STORAGE_RETRY_AFTER) from None
    finally:
        if normalised.cleanup is not None:
            with contextlib.suppress(FileNotFoundError):
                normalised.cleanup.unlink()
    now = now or _now()
    try:
        async with in_transaction() as conn:
            done = await Upload.filter(id=upload.id, state=PARTIAL, upload_offset=start).using_db(conn).update(
                state=COMPLETED, upload_offset=upload.upload_length, completed_at=now, blob_key=blob.key,
                sha256=blob.sha256)
            if not done:
                raise OffsetMismatch("offset changed concurrently")
            await cases.attach_material(principal, upload.case_id, upload.material_code,  # type: ignore[attr-defined]
                                        blob, upload.filename or "file", normalised.mime, now=now, conn=conn)
    except DomainError as exc:
        if not isinstance(exc, OffsetMismatch):
            await _reject(upload, storage_root, start)  # e.g. the case was submitted meanwhile
        raise
    upload.state, upload.upload_offset, upload.completed_at = COMPLETED, upload.upload_length, now
    upload.blob_key, upload.sha256 = blob.key, blob.sha256
    _forget(upload.id)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # only after the commit; one quick metadata call, not worth a thread hop


# --------------------------------------------------------------------------- termination, expiry


async def terminate(principal: Principal, storage_root: Path, upload_id: str) -> None:
    """tus termination: the upload and its partial file go (an attached material stays attached)."""
    upload = await own_upload(principal, upload_id)
    async with _lock(upload_id):
        await Upload.filter(id=upload.id, owner=principal.subject).delete()
        _forget(upload_id)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, _partial_path(storage_root, upload_id))


async def expire_uploads(storage_root: Path, *, now: dt.datetime | None = None,
                         orphan_grace: dt.timedelta = ORPHAN_GRACE) -> int:
    """Mark abandoned partial uploads expired and remove their partial files, plus partial files no
    partial row refers to (uploads of deleted drafts, crashes after a commit). Returns files removed."""
    now = now or _now()
    await Upload.filter(state=PARTIAL, expires_at__lte=now).update(state=EXPIRED)
    removed = _remove_stale_normalised(storage_root, now, orphan_grace)
    folder = partial_dir(storage_root)
    if not folder.is_dir():
        return removed
    names = [p.name for p in folder.iterdir()]
    live = set(await Upload.filter(id__in=names, state=PARTIAL).values_list("id", flat=True)) if names else set()
    for name in names:
        if name in live:
            continue
        path = folder / name
        with contextlib.suppress(FileNotFoundError):
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            expired = await Upload.exists(id=name, state=EXPIRED)
            if expired or now - modified > orphan_grace:
                path.unlink()
                removed += 1
    return removed


def _remove_stale_normalised(storage_root: Path, now: dt.datetime, grace: dt.timedelta) -> int:
    """Normalised files are deleted after their upload completes; a process killed in between
    leaves one behind (found by tests/test_durability.py). Remove those past the grace period."""
    folder = storage_root / "uploads" / "normalised"
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if now - dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) > grace:
                path.unlink()
                removed += 1
    return removed
