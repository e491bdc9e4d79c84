"""Identity tables. Schema owned by Alembic (alembic/versions/0003_identity.py)."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Citizen(Model):
    """A natural person signed in by phone; real-name data once they give it."""

    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=11, unique=True)
    name = fields.CharField(max_length=50, default="")
    id_number = fields.CharField(max_length=18, default="")  # never logged; masked when shown
    verified_at = fields.DatetimeField(null=True)  # when the citizen declared name and number
    # When a trusted party (a clerk with the ID card in hand, a real-name provider) confirmed that the
    # number is this person's. Only then does the platform fetch certificates held under it: a declared
    # number alone would show anyone's household register to whoever typed it. Cleared on any change.
    identity_checked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "citizen"


class Enterprise(Model):
    id = fields.IntField(primary_key=True)
    uscc = fields.CharField(max_length=18, unique=True)  # 统一社会信用代码, GB 32100
    name = fields.CharField(max_length=200)
    legal_representative = fields.CharField(max_length=50, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise"


class EnterpriseMember(Model):
    """A citizen who may act for an enterprise (its legal representative or an authorised agent)."""

    id = fields.IntField(primary_key=True)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="members", on_delete=fields.CASCADE
    )
    citizen: fields.ForeignKeyRelation[Citizen] = fields.ForeignKeyField(
        "models.Citizen", related_name="enterprises", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=20)  # legal_representative | agent
    created_at = fields.DatetimeField(auto_now_add=True)
    # When a trusted party confirmed the citizen may act for the enterprise (see identity_checked_at):
    # only then are the enterprise's certificates theirs to see and use.
    checked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "enterprise_member"
        unique_together = (("enterprise", "citizen"),)


class Staff(Model):
    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=50, unique=True)
    password_hash = fields.CharField(max_length=200)
    name = fields.CharField(max_length=50, default="")
    role = fields.CharField(max_length=20)  # clerk | officer | approver | supervisor | admin
    department = fields.CharField(max_length=32, default="")  # Department.code (officer, approver)
    window = fields.CharField(max_length=32, default="")  # Window.code (clerk)
    active = fields.BooleanField(default=True)
    failed_logins = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff"


class OtpCode(Model):
    """A one-time sign-in code; only its keyed hash is stored."""

    id = fields.BigIntField(primary_key=True)
    phone = fields.CharField(max_length=11)
    code_hash = fields.CharField(max_length=64)
    client = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    consumed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "otp_code"
        indexes = (
            Index(fields=("phone", "created_at"), name="ix_otp_phone_created"),
            Index(fields=("client", "created_at"), name="ix_otp_client_created"),
        )


class RefreshToken(Model):
    """An opaque refresh token (hash only). Rotated on use; a reused one revokes its family."""

    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=40)  # "citizen:12" | "staff:3"
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"
        indexes = (Index(fields=("family",), name="ix_refresh_family"),)


class RevokedAccessToken(Model):
    """Access tokens ended by logout before their expiry (kept until they would have expired)."""

    id = fields.BigIntField(primary_key=True)
    jti = fields.CharField(max_length=32, unique=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "revoked_access_token"
