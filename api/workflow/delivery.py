"""送达: how a decision reaches the applicant. Pure rules (no database), called by the deliver action.

Electronic delivery (电子送达) puts the result in the applicant's certificates and messages; window
pick-up (窗口领取) hands it over at the hall; express mail (邮寄送达) needs the carrier and its tracking
number, which the applicant then sees on the case and public tracking shows beside the case number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from api.core.errors import RuleViolation

ELECTRONIC, WINDOW, EXPRESS = "electronic", "window", "express"
#: value → (Chinese, English), in the order a form offers them.
METHODS: dict[str, tuple[str, str]] = {
    ELECTRONIC: ("电子送达", "Electronic"),
    WINDOW: ("窗口领取", "Pick-up at the window"),
    EXPRESS: ("邮寄送达", "Express mail"),
}
# Carriers' waybill numbers: letters, digits and dashes (SF1234567890123, JD0001234567-1-1, 9876543210).
_TRACKING = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{5,39}")


def check_delivery(fields: Mapping[str, Any]) -> dict[str, str | None]:
    """The delivery an action's checked fields describe: {method, carrier, tracking_number}; a
    RuleViolation naming the field for express mail without its carrier or a well-formed tracking
    number, or a carrier/number given for another method (most likely the wrong method chosen)."""
    method = fields["method"]
    carrier = (fields.get("carrier") or "").strip() or None
    number = (fields.get("tracking_number") or "").strip() or None
    if method != EXPRESS:
        if carrier or number:
            raise RuleViolation("只有邮寄送达需要填写快递公司和运单号，请检查送达方式",
                                "carrier and tracking_number are for express delivery only",
                                "carrier" if carrier else "tracking_number")
        return {"method": method, "carrier": None, "tracking_number": None}
    if carrier is None:
        raise RuleViolation("邮寄送达请填写快递公司", "express delivery needs the carrier", "carrier")
    if number is None:
        raise RuleViolation("邮寄送达请填写运单号", "express delivery needs the tracking number", "tracking_number")
    if not _TRACKING.fullmatch(number):
        raise RuleViolation("运单号应为 6 到 40 位字母、数字或连字符", "tracking_number must be 6–40 letters, digits "
                            "or dashes", "tracking_number")
    return {"method": method, "carrier": carrier, "tracking_number": number.upper()}
