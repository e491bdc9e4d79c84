"""Material and blob storage behind one async interface (:class:`BlobStore`).

``open_store(settings.storage_url, work_dir=...)`` returns the backend for ``ZHENGWU_STORAGE_URL``
(default ``file://var/storage``): the local filesystem (:class:`LocalBlobStore`: aiofiles,
content-addressed by SHA-256, fsync + atomic rename) or any S3-compatible object store
(:class:`~storage.s3.S3BlobStore`, ``s3://bucket/prefix?endpoint=…&region=…``). Callers see only
the interface of :mod:`storage.base`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    InvalidBlobKey,
    Referenced,
    StorageError,
    StorageFull,
    StorageUnavailable,
    StoredBlob,
    UnsupportedStorageURL,
)
from storage.local import LocalBlobStore

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobTooLarge",
    "InvalidBlobKey",
    "LocalBlobStore",
    "Referenced",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "StoredBlob",
    "UnsupportedStorageURL",
    "check_storage_url",
    "open_store",
    "storage_path",
]

# Same anchor as api.core.settings.PROJECT_ROOT; storage/ must not import the api package.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def storage_path(url: str) -> Path:
    """The directory a ``file://`` URL names (the one place that decides it, for the blob store and
    for the partial uploads beside it): ``file:///abs/dir`` is absolute, ``file://var/storage`` is
    relative to the project root."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise UnsupportedStorageURL(f"not a file:// URL: {url!r}")
    if parsed.netloc:
        return (PROJECT_ROOT / parsed.netloc / parsed.path.lstrip("/")).resolve()
    if not parsed.path:
        raise UnsupportedStorageURL(f"file:// URL names no directory: {url!r}")
    return Path(parsed.path)


def check_storage_url(url: str) -> None:
    """Raise :class:`UnsupportedStorageURL` naming what is wrong with ``url``, without connecting."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        storage_path(url)
    elif scheme == "s3":
        from storage.s3 import parse_s3_url

        parse_s3_url(url)
    elif scheme in {"minio", "oss", "cos", "obs"}:
        raise UnsupportedStorageURL(
            f"{scheme}:// is spoken as S3: write s3://bucket/prefix?endpoint=https://… for ZHENGWU_STORAGE_URL")
    else:
        raise UnsupportedStorageURL(f"unsupported storage URL scheme {scheme!r} in {url!r}; use file:// or s3://")


def open_store(url: str, *, work_dir: Path | None = None, credentials: dict[str, str] | None = None) -> BlobStore:
    """The store ``url`` names. ``work_dir`` is a local directory an object store spools writes in
    (default: a temporary directory's ``zhengwu`` folder); ``credentials`` (``access_key``,
    ``secret_key``, ``session_token``) override botocore's own chain for an object store."""
    check_storage_url(url)
    if urlparse(url).scheme == "file":
        return LocalBlobStore(storage_path(url))
    import tempfile

    from storage.s3 import S3BlobStore

    spool = work_dir if work_dir is not None else Path(tempfile.gettempdir()) / "zhengwu"
    return S3BlobStore(url, spool, **(credentials or {}))
