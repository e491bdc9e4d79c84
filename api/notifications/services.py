"""Writing to the outbox: ``enqueue`` inside the caller's transaction, and ``case_changed``, the
rule for which moves of a case the applicant hears of (called by ``workflow.services.apply`` only).

The texts are not written here: a row holds its kind and data, and the delivery renders them in the
recipient's language when it is sent, so that a text can be corrected without rewriting history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient

from api.audit.chain import safe_json
from api.cases.models import Case
from api.notifications.models import Outbox

#: The moves of a case its applicant is told of, by the action that made them. Internal work
#: (claim, release, comment, start of review) and the applicant's own moves (submit online, resupply,
#: withdraw) tell them nothing new.
CASE_ACTIONS = frozenset({
    "accept", "deem_accepted", "refuse", "request_correction", "approve", "deny", "suspend", "resume",
    "extend", "deliver", "survey_scheduled",
})
#: Moves the applicant must hear of at once, quiet hours or not: they have to act, or it is over.
URGENT_ACTIONS = frozenset({"request_correction", "refuse", "deny"})


async def enqueue(
    conn: BaseDBAsyncClient, kind: str, recipient: str, *, case_id: int | None = None,
    data: dict[str, Any] | None = None, urgent: bool = False, at: dt.datetime | None = None,
) -> Outbox:
    """One outbox row, in ``conn``'s transaction: delivered only if that transaction commits."""
    now = at or dt.datetime.now(dt.UTC)
    return await Outbox.create(kind=kind, recipient=recipient, case_id=case_id, data=data or {},
                               urgent=urgent, created_at=now, due_at=now, using_db=conn)


def case_kind(action: str, *, by_applicant: bool) -> str | None:
    """The outbox kind a case action writes for its applicant, or None when it writes none. A
    submission made for the applicant at a window (a walk-in case) is news to them; their own is not."""
    if action == "submit":
        return None if by_applicant else "case.submit"
    return f"case.{action}" if action in CASE_ACTIONS else None


async def case_changed(
    conn: BaseDBAsyncClient, case: Case, action: str, *, actor: str, at: dt.datetime, details: dict[str, Any],
) -> Outbox | None:
    """Tell the applicant of a move of their case, when it is one they are told of."""
    applicant = f"citizen:{case.applicant_id}"  # type: ignore[attr-defined]
    kind = case_kind(action, by_applicant=actor == applicant)
    if kind is None:
        return None
    data = {"number": case.number, "item_name": case.item_name, "state": case.state, **details}
    return await enqueue(conn, kind, applicant, case_id=case.id, data=_json(data), urgent=action in URGENT_ACTIONS,
                         at=at)


def _json(value: dict[str, Any]) -> dict[str, Any]:
    # Dates and datetimes as ISO text, as the API writes them.
    return safe_json(msgspec.json.decode(msgspec.json.encode(value)))
