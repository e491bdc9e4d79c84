"""Material and blob storage behind one async interface (local filesystem first, S3-compatible
later). The interface arrives with online applications; settings already carry
``ZHENGWU_STORAGE_URL`` (default ``file://var/storage``)."""
