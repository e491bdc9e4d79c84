"""Material and blob storage behind one async interface (:class:`BlobStore`).

``open_store(settings.storage_url)`` returns the backend for ``ZHENGWU_STORAGE_URL`` (default
``file://var/storage``). Today that is the local filesystem (:class:`LocalBlobStore`: aiofiles,
content-addressed by SHA-256, fsync + atomic rename); an S3-compatible backend will implement the
same interface, so callers never need to change.
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
    "StoredBlob",
    "UnsupportedStorageURL",
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


def open_store(url: str) -> BlobStore:
    scheme = urlparse(url).scheme
    if scheme == "file":
        return LocalBlobStore(storage_path(url))
    if scheme in {"s3", "minio", "oss", "cos", "obs"}:
        raise UnsupportedStorageURL(
            f"{scheme}:// storage is not implemented yet; use a file:// URL for ZHENGWU_STORAGE_URL"
        )
    raise UnsupportedStorageURL(f"unsupported storage URL scheme {scheme!r} in {url!r}; use file://")
