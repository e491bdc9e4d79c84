"""Check codes (核验码) of certificates and their states: pure calculations (no ORM, no HTTP).

A certificate's check code is 8 digits that its holder hands, with the type and the number, to
whoever must verify the certificate (a bank, a landlord) at ``/api/v1/certificates/verify``.
As with a case's query code (``api.cases.numbering``), the database keeps only a keyed hash of
type + number + code and a random salt from which the server re-derives the code for the holder's
own view; both need ``ZHENGWU_SECRET_KEY``. The derivations are labelled ``certificate-…`` so a
case's query code and a certificate's check code never coincide by construction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

# ASCII digits only (\d also matches full-width and other scripts' digits). What a lookup may be
# asked for is checked before any query: PostgreSQL refuses some text (NUL) with an error.
CODE_RE = re.compile(r"[0-9]{8}")
TYPE_RE = re.compile(r"[^\x00-\x1f\x7f]{1,64}")  # the catalog does not restrict type codes further
NUMBER_RE = re.compile(r"[0-9A-Za-z\u4e00-\u9fff()（）\-_/.·]{1,64}")

VALID, REVOKED = "valid", "revoked"  # stored statuses
EXPIRED, NOT_YET_VALID = "expired", "not_yet_valid"  # derived from the dates
STATE_NAMES = {VALID: "有效", REVOKED: "已注销", EXPIRED: "已过期", NOT_YET_VALID: "尚未生效"}

PERSON, ENTERPRISE = "person", "enterprise"
#: The catalog's CertificateType.holder → the kind of holder a certificate of that type has.
HOLDER_KINDS = {"natural_person": PERSON, "legal_person": ENTERPRISE}


def check_code(secret: str, type_code: str, number: str, salt: str) -> str:
    digest = hmac.new(secret.encode(), f"certificate-code:{type_code}:{number}:{salt}".encode(),
                      hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 100_000_000:08d}"


def check_code_hash(secret: str, type_code: str, number: str, code: str) -> str:
    return hmac.new(secret.encode(), f"certificate-hash:{type_code}:{number}:{code}".encode(),
                    hashlib.sha256).hexdigest()


def state(status: str, valid_from: dt.date, valid_until: dt.date | None, today: dt.date) -> str:
    """What a certificate is on ``today``: revoked wins over the dates; no end date is 长期有效."""
    if status == REVOKED:
        return REVOKED
    if today < valid_from:
        return NOT_YET_VALID
    if valid_until is not None and today > valid_until:
        return EXPIRED
    return VALID
