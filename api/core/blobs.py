"""The blob store the settings describe (``ZHENGWU_STORAGE_URL`` with its local work directory and
object-store credentials): one place, for the app and the ``zhengwu`` commands."""

from __future__ import annotations

from api.core.settings import Settings
from storage import BlobStore, open_store


def blob_store(settings: Settings) -> BlobStore:
    return open_store(settings.storage_url, work_dir=settings.work_root, credentials=settings.storage_credentials)
