"""Upload table. Schema owned by Alembic (alembic/versions/0005_uploads.py); these must match it.

One row per tus upload. The bytes received so far live in a partial file (see ``services``); the
row's ``upload_offset`` is the acknowledged, fsynced length of that file and is the single source
of truth (a file longer than it, left by a crash between fsync and commit, is cut back to it).

States::

    partial    receiving chunks (expires ``UPLOAD_TTL`` after the last activity)
    completed  stored as a blob and attached to the case material
    rejected   the finished file failed validation (the partial file is gone)
    expired    abandoned; the sweep removed the partial file
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from api.cases.models import Case

PARTIAL, COMPLETED, REJECTED, EXPIRED = "partial", "completed", "rejected", "expired"
UPLOAD_STATES = (PARTIAL, COMPLETED, REJECTED, EXPIRED)


class Upload(Model):
    id = fields.CharField(max_length=32, primary_key=True)  # uuid4 hex: also the URL and file name
    owner = fields.CharField(max_length=40)  # principal subject, "citizen:12"
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="uploads", on_delete=fields.CASCADE
    )
    material_code = fields.CharField(max_length=64)
    filename = fields.CharField(max_length=200, default="")  # sanitised display name only
    upload_length = fields.BigIntField()
    upload_offset = fields.BigIntField(default=0)
    state = fields.CharField(max_length=10, default=PARTIAL)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    blob_key = fields.CharField(max_length=100, null=True)
    sha256 = fields.CharField(max_length=64, default="")

    class Meta:
        table = "upload"
        indexes = (
            Index(fields=("owner", "created_at"), name="ix_upload_owner"),
            Index(fields=("state", "expires_at"), name="ix_upload_state_expires"),
        )
