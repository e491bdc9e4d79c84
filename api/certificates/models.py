"""Certificate tables. Schema owned by Alembic (alembic/versions/0010_certificates.py)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from api.certificates.codes import VALID


class Certificate(Model):
    """One electronic certificate (电子证照) held by a person or an enterprise.

    Never deleted: a certificate that must stop counting is revoked (注销), so the verification
    answer and the access log keep pointing at it."""

    id = fields.BigIntField(primary_key=True)
    type_code = fields.CharField(max_length=64)  # CertificateType.code (the catalog's 证照类型)
    number = fields.CharField(max_length=64)  # 证照编号, unique per type
    holder = fields.CharField(max_length=18)  # resident ID number or credit code; masked when shown
    holder_kind = fields.CharField(max_length=10)  # person | enterprise
    issuing_department = fields.CharField(max_length=32)  # Department.code
    valid_from = fields.DateField()
    valid_until = fields.DateField(null=True)  # null: 长期有效
    status = fields.CharField(max_length=10, default=VALID)  # valid | revoked (expiry is derived)
    revoked_at = fields.DatetimeField(null=True)
    revoke_reason = fields.TextField(default="")
    data = fields.JSONField(default=dict)  # the certificate's own fields (name, address, …)
    check_code_hash = fields.CharField(max_length=64)  # keyed hash of type + number + check code
    check_code_salt = fields.CharField(max_length=32)  # random; the code is derived from it
    issued_at = fields.DatetimeField()
    case = fields.ForeignKeyField(  # the case whose approval produced it (none for imported ones)
        "models.Case", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "certificate"
        unique_together = (("type_code", "number"),)
        indexes = (Index(fields=("holder", "type_code"), name="ix_certificate_holder"),)


class CertificateAccess(Model):
    """One use of a certificate's data (716号令 §7: used only for the purpose it was fetched for),
    shown to its holder at ``GET /api/v1/me/data-access``. Append-only."""

    id = fields.BigIntField(primary_key=True)
    certificate: fields.ForeignKeyRelation[Certificate] = fields.ForeignKeyField(
        "models.Certificate", related_name="accesses", on_delete=fields.RESTRICT
    )
    actor = fields.CharField(max_length=40)  # "citizen:12" | "staff:3" | "system" (never shown)
    # How the actor is shown to the holder, fixed when the access happens (a staff member shows as
    # their department or window, never by name; a citizen by a masked name, or 本人 to themself).
    actor_label = fields.CharField(max_length=120)
    department = fields.CharField(max_length=32, null=True)  # Department.code the data went to
    case = fields.ForeignKeyField(  # kept when a draft is deleted (the read happened all the same)
        "models.Case", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    purpose = fields.CharField(max_length=200)
    at = fields.DatetimeField()

    class Meta:
        table = "certificate_access"
        indexes = (Index(fields=("certificate_id", "at"), name="ix_certificate_access_cert"),)
