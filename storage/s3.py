"""S3-compatible object storage (AWS S3, the clouds' OSS/COS/OBS, MinIO, Ceph, SeaweedFS) with
aiobotocore, behind the same :class:`~storage.base.BlobStore` interface as the local backend.

``s3://BUCKET/PREFIX?endpoint=http://host:port&region=cn-north-1&addressing=path``

* Blobs are content-addressed exactly as on disk: the blob key is ``sha256/ab/cd/<hex>`` and the
  object is ``PREFIX/sha256/ab/cd/<hex>`` in the bucket, so a database moves between backends
  without rewriting a row, and an object's name is its hash.
* Nothing is ever whole in memory. A stream is spooled to a local temporary file (hashed and counted
  on the way, ``flock``-ed like the local store's), so the object's name is known before the first
  byte leaves; then the file goes up in one PUT when it is small, else by multipart upload in
  ``PART_SIZE`` pieces read from the file one at a time. :meth:`write_file` (a finished tus upload,
  already hashed while it arrived) skips the spool and uploads the file itself. No temporary object
  ever exists in the bucket, so nothing needs a server-side copy.
* Age (for the orphan sweep's grace period) is the ``x-amz-meta-zw-touched`` time, set by every
  write; a write that finds its content already stored refreshes it with a metadata-only
  ``CopyObject`` of the object onto itself, the S3 equivalent of the local store's ``utime``.
* Credentials come from botocore's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
  ``AWS_SHARED_CREDENTIALS_FILE``/``AWS_PROFILE``, instance roles …), or are passed in (settings reads
  ``AWS_ACCESS_KEY_ID_FILE``/``AWS_SECRET_ACCESS_KEY_FILE``). They never appear in the URL.
* Every failure of the object store (unreachable, timing out, 5xx, access denied, no such bucket)
  is :class:`~storage.base.StorageUnavailable`; only a missing object is :class:`BlobNotFound`.

What S3 cannot give: the local store deletes an orphan under a lock that a deduplicating write also
takes, so the write can never lose the blob it has just acknowledged. S3 has no such lock (nor a
portable conditional delete): the sweeper re-reads the object's age just before deleting it, which
leaves a window of one request (milliseconds) in which a write deduplicating onto an orphan older
than the grace period can lose it. Such a write needs a citizen to upload, byte for byte, a file
whose earlier copy was abandoned more than an hour ago, at the very moment a sweep deletes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiofiles
import aiofiles.os
import aiohttp
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    InvalidBlobKey,
    Referenced,
    StorageUnavailable,
    StoredBlob,
    UnsupportedStorageURL,
    is_referenced,
)
from storage.local import _KEY_RE, CHUNK_SIZE, key_for, spooled, sweep_temp_files

PART_SIZE = 8 * 1024 * 1024  # multipart piece (S3's minimum is 5 MiB except the last); one in memory
MAX_COPY = 5 * 1024 ** 3  # CopyObject's limit: a larger blob is touched by uploading it again
TOUCHED = "zw-touched"  # user metadata: when a write last stored or deduplicated onto the object
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_OPTIONS = frozenset({"endpoint", "region", "addressing"})


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "some/prefix/" (with the slash)
    endpoint: str | None
    region: str
    addressing: str  # "path", "virtual" or "auto"


def parse_s3_url(url: str) -> S3Location:
    """Check an ``s3://`` URL completely (so a typo stops the process at start, in one line)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3":
        raise UnsupportedStorageURL(f"not an s3:// URL: {url!r}")
    if parsed.username or parsed.password:
        raise UnsupportedStorageURL("credentials do not belong in the storage URL: use the AWS_* variables")
    bucket = parsed.hostname or ""
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise UnsupportedStorageURL(
            f"s3:// bucket name {bucket!r} is not valid (3-63 lower-case letters, digits, '.' or '-')")
    prefix = parsed.path.strip("/")
    if prefix and not _PREFIX.fullmatch(prefix):
        raise UnsupportedStorageURL(f"s3:// prefix {prefix!r} may hold letters, digits, '.', '_', '-' and '/'")
    try:
        options = parse_qs(parsed.query, keep_blank_values=True, strict_parsing=bool(parsed.query))
    except ValueError:
        raise UnsupportedStorageURL(f"s3:// URL options are not key=value pairs: {parsed.query!r}") from None
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise UnsupportedStorageURL(f"unknown s3:// URL option {unknown[0]!r} (known: endpoint, region, addressing)")
    one = {key: values[-1] for key, values in options.items()}
    endpoint = one.get("endpoint") or None
    if endpoint is not None:
        target = urlparse(endpoint)
        if target.scheme not in {"http", "https"} or not target.hostname:
            raise UnsupportedStorageURL(f"s3:// endpoint must be http(s)://host[:port], not {endpoint!r}")
        try:
            target.port  # noqa: B018 -- raises on a port that is not a number
        except ValueError:
            raise UnsupportedStorageURL(f"s3:// endpoint has a bad port: {endpoint!r}") from None
        if target.path.strip("/"):
            raise UnsupportedStorageURL(f"s3:// endpoint must not have a path: {endpoint!r}")
    region = one.get("region") or "us-east-1"
    if not re.fullmatch(r"[a-z0-9-]{2,32}", region):
        raise UnsupportedStorageURL(f"s3:// region {region!r} is not a region name")
    # Self-hosted stores (SeaweedFS, MinIO, Ceph) want path-style requests; AWS and the clouds
    # accept virtual-hosted ones and botocore picks them when it knows no endpoint.
    addressing = one.get("addressing") or ("path" if endpoint else "auto")
    if addressing not in {"path", "virtual", "auto"}:
        raise UnsupportedStorageURL(f"s3:// addressing must be path, virtual or auto, not {addressing!r}")
    return S3Location(bucket, f"{prefix}/" if prefix else "", endpoint, region, addressing)


def _unavailable(exc: BaseException, doing: str) -> StorageUnavailable:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        what = f"{error.get('Code', '?')}: {error.get('Message', '')}".strip(": ")
    else:
        what = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    return StorageUnavailable(f"object storage unavailable while {doing} ({what[:200]})")


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND


#: What talking to the object store can raise besides a refusal of the request (ClientError).
_TRANSPORT = (BotoCoreError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


class S3BlobStore(BlobStore):
    def __init__(
        self, location: S3Location | str, spool_dir: str | os.PathLike[str], *,
        access_key: str | None = None, secret_key: str | None = None, session_token: str | None = None,
        part_size: int = PART_SIZE, clock: Callable[[], float] = time.time,
    ) -> None:
        self.location = parse_s3_url(location) if isinstance(location, str) else location
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 refuses multipart pieces below 5 MiB")
        self.part_size = part_size
        self.chunk_size = CHUNK_SIZE
        self.spool = Path(spool_dir) / "s3-spool"  # local: temporary files of write()
        self._credentials = {key: value for key, value in (
            ("aws_access_key_id", access_key), ("aws_secret_access_key", secret_key),
            ("aws_session_token", session_token)) if value}
        self._clock = clock
        self._client: Any = None
        self._client_cm: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._client_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        where = self.location.endpoint or "aws"
        return f"S3BlobStore(s3://{self.location.bucket}/{self.location.prefix} at {where})"

    @property
    def bucket(self) -> str:
        return self.location.bucket

    def object_key(self, key: str) -> str:
        """The object's name in the bucket for a blob key (validated like the local store's path)."""
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise InvalidBlobKey(f"not a blob key: {key!r}")
        return self.location.prefix + key

    # -- the client ----------------------------------------------------------------------------

    async def _s3(self) -> Any:
        """One client (and connection pool) per event loop, made on first use."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._client_loop is loop:
            return self._client
        if self._client_lock is None or self._client_loop is not loop:
            self._client_lock = asyncio.Lock()
        async with self._client_lock:
            if self._client is not None and self._client_loop is loop:
                return self._client
            if self._client is not None:  # made on a loop that has ended (tests, CLI commands)
                with contextlib.suppress(Exception):
                    await self._client_cm.__aexit__(None, None, None)
            config = Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": self.location.addressing}, max_pool_connections=32,
                # The stores this backend is for compute the checksums S3 itself wants; the newer
                # "when_supported" default sends trailing CRCs some S3-compatible stores refuse.
                request_checksum_calculation="when_required", response_checksum_validation="when_required",
            )
            cm = get_session().create_client(
                "s3", region_name=self.location.region, endpoint_url=self.location.endpoint, config=config,
                **self._credentials)
            self._client = await cm.__aenter__()
            self._client_cm, self._client_loop = cm, loop
            return self._client

    async def close(self) -> None:
        if self._client is not None:
            cm, self._client, self._client_cm = self._client_cm, None, None
            with contextlib.suppress(Exception):
                await cm.__aexit__(None, None, None)

    async def _call(self, doing: str, operation: str, **kwargs: Any) -> Any:
        client = await self._s3()
        try:
            return await getattr(client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError:
            raise
        except _TRANSPORT as exc:
            raise _unavailable(exc, doing) from exc

    async def check(self) -> None:
        try:
            await self._call("checking the bucket", "head_bucket")
        except ClientError as exc:
            raise _unavailable(exc, f"checking bucket {self.bucket!r}") from exc

    async def prepare(self) -> None:
        """Create the bucket when it does not exist (``zhengwu migrate``; an existing one is left)."""
        try:
            await self._call("checking the bucket", "head_bucket")
            return
        except ClientError as exc:
            if not _missing(exc) and str(exc.response.get("Error", {}).get("Code")) != "NoSuchBucket":
                raise _unavailable(exc, f"checking bucket {self.bucket!r}") from exc
        try:
            await self._call("creating the bucket", "create_bucket")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise _unavailable(exc, f"creating bucket {self.bucket!r}") from exc

    # -- writing -------------------------------------------------------------------------------

    async def write(self, stream: AsyncIterable[bytes], *, max_bytes: int | None = None) -> StoredBlob:
        await asyncio.to_thread(self.spool.mkdir, parents=True, exist_ok=True)
        async with spooled(self.spool, stream, max_bytes=max_bytes, chunk_size=self.chunk_size) as spool:
            await self._upload(spool.path, spool.sha256, spool.size)
            return StoredBlob(key=key_for(spool.sha256), sha256=spool.sha256, size=spool.size)

    async def write_file(self, path: Path, *, sha256: str | None = None, synced: bool = False) -> StoredBlob:
        """Upload a finished local file straight to its content address (hashing it first only when
        the caller has not). ``synced`` does not matter here: the object store keeps its own copy."""
        path = Path(path)
        size = (await aiofiles.os.stat(path)).st_size
        if sha256 is None:
            sha256 = await asyncio.to_thread(_hash_file, path, self.chunk_size)
        elif not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        await self._upload(path, sha256, size)
        return StoredBlob(key=key_for(sha256), sha256=sha256, size=size)

    async def _upload(self, path: Path, sha256: str, size: int) -> None:
        name = self.object_key(key_for(sha256))
        if await self._touch(name, size):
            return  # identical content was stored already; its grace period starts again
        metadata = {TOUCHED: f"{self._clock():.6f}"}
        try:
            if size <= self.part_size:
                async with aiofiles.open(path, "rb") as f:
                    body = await f.read()  # at most one part
                await self._call("storing a blob", "put_object", Key=name, Body=body, ContentLength=size,
                                 ContentType="application/octet-stream", Metadata=metadata)
            else:
                await self._multipart(path, name, metadata)
        except ClientError as exc:
            raise _unavailable(exc, "storing a blob") from exc

    async def _multipart(self, path: Path, name: str, metadata: dict[str, str]) -> None:
        started = await self._call("storing a blob", "create_multipart_upload", Key=name,
                                   ContentType="application/octet-stream", Metadata=metadata)
        upload_id = started["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            async with aiofiles.open(path, "rb") as f:
                number = 1
                while piece := await f.read(self.part_size):
                    done = await self._call("storing a blob", "upload_part", Key=name, UploadId=upload_id,
                                            PartNumber=number, Body=piece, ContentLength=len(piece))
                    del piece  # sent: one part in memory at a time
                    parts.append({"ETag": done["ETag"], "PartNumber": number})
                    number += 1
            await self._call("storing a blob", "complete_multipart_upload", Key=name, UploadId=upload_id,
                             MultipartUpload={"Parts": parts})
        except BaseException:
            # Leave nothing behind (the parts would be billed and never listed); shielded, so a
            # cancellation still aborts. Should the store be unreachable now, the sweep aborts it.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._call("aborting an upload", "abort_multipart_upload", Key=name,
                                                UploadId=upload_id))
            raise

    async def _touch(self, name: str, size: int) -> bool:
        """Refresh the age of an existing object with this name; False when there is none."""
        try:
            head = await self._call("looking up a blob", "head_object", Key=name)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise _unavailable(exc, "looking up a blob") from exc
        if int(head.get("ContentLength", -1)) != size:
            return False  # not what its name says (a damaged object): store the content again
        if size > MAX_COPY:
            return False  # too large to copy onto itself: uploading it again refreshes it too
        try:
            await self._call("refreshing a blob", "copy_object", Key=name,
                             CopySource={"Bucket": self.bucket, "Key": name}, MetadataDirective="REPLACE",
                             ContentType="application/octet-stream", Metadata={TOUCHED: f"{self._clock():.6f}"})
        except ClientError as exc:
            if _missing(exc):  # swept between the two requests: store it again
                return False
            raise _unavailable(exc, "refreshing a blob") from exc
        return True

    # -- reading -------------------------------------------------------------------------------

    def open(self, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._open(key, self.object_key(key))

    @asynccontextmanager
    async def _open(self, key: str, name: str) -> AsyncIterator[AsyncIterator[bytes]]:
        try:
            response = await self._call("reading a blob", "get_object", Key=name)
        except ClientError as exc:
            if _missing(exc):
                raise BlobNotFound(key) from None
            raise _unavailable(exc, "reading a blob") from exc
        body = response["Body"]
        try:
            yield self._chunks(body)
        finally:
            body.close()  # an unread rest is dropped with its connection

    async def _chunks(self, body: Any) -> AsyncIterator[bytes]:
        try:
            while chunk := await body.read(self.chunk_size):
                yield chunk
        except _TRANSPORT as exc:
            raise _unavailable(exc, "reading a blob") from exc

    async def stat(self, key: str) -> BlobInfo | None:
        name = self.object_key(key)
        try:
            head = await self._call("looking up a blob", "head_object", Key=name)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise _unavailable(exc, "looking up a blob") from exc
        return BlobInfo(key=key, size=int(head["ContentLength"]), modified=_age_of(head))

    async def delete(self, key: str) -> None:
        name = self.object_key(key)
        try:
            await self._call("deleting a blob", "delete_object", Key=name)
        except ClientError as exc:
            if not _missing(exc):
                raise _unavailable(exc, "deleting a blob") from exc

    async def keys(self) -> AsyncIterator[tuple[str, int]]:
        """Every blob key in the bucket with its size, in key order (backups list the bucket)."""
        paginator = (await self._s3()).get_paginator("list_objects_v2")
        start = self.location.prefix + "sha256/"
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.location.prefix):]
                    if _KEY_RE.fullmatch(key):  # anything not shaped like a blob is not ours
                        yield key, int(item["Size"])
        except ClientError as exc:
            raise _unavailable(exc, "listing blobs") from exc
        except _TRANSPORT as exc:
            raise _unavailable(exc, "listing blobs") from exc

    # -- sweeping ------------------------------------------------------------------------------

    async def list_orphans(self, referenced: Referenced, *, older_than: timedelta) -> list[str]:
        # The listing gives no metadata: only the blobs nobody refers to (few) are asked their age.
        cutoff = datetime.fromtimestamp(self._clock(), UTC) - older_than
        found = []
        async for key, _ in self.keys():
            if await is_referenced(referenced, key):
                continue
            info = await self.stat(key)
            if info is not None and info.modified < cutoff:
                found.append(key)
        return sorted(found)

    async def _delete_if_older(self, key: str, older_than: timedelta) -> bool:
        info = await self.stat(key)  # re-read: a write may have deduplicated onto it since listing
        if info is None or info.modified >= datetime.fromtimestamp(self._clock(), UTC) - older_than:
            return False
        await self.delete(key)
        return True

    async def sweep_partial_writes(self, *, older_than: timedelta) -> int:
        """Spooled files of dead writers, and multipart uploads started before the grace period
        that were never completed nor aborted (the process died mid-upload)."""
        cutoff = self._clock() - older_than.total_seconds()
        removed = await asyncio.to_thread(sweep_temp_files, self.spool, cutoff)
        paginator = (await self._s3()).get_paginator("list_multipart_uploads")
        abandoned: list[tuple[str, str]] = []
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.location.prefix + "sha256/"):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].timestamp() < cutoff:
                        abandoned.append((upload["Key"], upload["UploadId"]))
        except (ClientError, *_TRANSPORT) as exc:
            raise _unavailable(exc, "listing unfinished uploads") from exc
        for name, upload_id in abandoned:
            try:
                await self._call("aborting an upload", "abort_multipart_upload", Key=name, UploadId=upload_id)
                removed += 1
            except ClientError as exc:
                if not _missing(exc) and "NoSuchUpload" not in str(exc):
                    raise _unavailable(exc, "aborting an upload") from exc
        return removed


def _age_of(head: dict[str, Any]) -> datetime:
    touched = head.get("Metadata", {}).get(TOUCHED)
    if touched:
        with contextlib.suppress(ValueError, OverflowError):
            return datetime.fromtimestamp(float(touched), UTC)
    modified: datetime = head["LastModified"]
    return modified.astimezone(UTC)


def _hash_file(path: Path, chunk_size: int) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()
