"""The one write path for a change of a case: ``apply``.

It locks the case (within the caller's scope: someone else's case does not exist for them), checks
the move against the transition table (``states.decide``), runs the action's own effect (numbering
for a submission), and writes the case, its timeline event and the audit entry in ONE transaction.
A retry of a move already made changes nothing and says so (``replayed``). Submission and withdrawal
go through it today; the workflow issue adds the staff actions, the steps and the outbox here.
Nobody else writes ``CaseEvent`` or case audit rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.cases import services as cases
from api.cases.models import Case, CaseEvent
from api.identity.principal import Principal
from api.workflow import states


@dataclass(frozen=True, slots=True)
class Move:
    """What an action's effect needs besides the case: the request's key and the server's secret."""

    principal: Principal
    at: dt.datetime
    idempotency_key: str | None
    secret: str


@dataclass(frozen=True, slots=True)
class Applied:
    case: Case
    replayed: bool  # the same move was made before (a retry): nothing was written


#: An action's own work inside the transaction, before the state changes; returns what the audit
#: entry records beyond the new state.
Effect = Callable[[BaseDBAsyncClient, Case, Move], Awaitable[dict[str, Any]]]


async def _submit(conn: BaseDBAsyncClient, case: Case, move: Move) -> dict[str, Any]:
    await cases.number_submission(conn, case, move.principal, move.idempotency_key or "", move.secret, move.at)
    return {"id": case.id, "item_code": case.item_code, "submitted_at": move.at}


EFFECTS: dict[str, Effect] = {"submit": _submit}
#: Actions retried safely only with the same Idempotency-Key (the key is kept on the case).
KEYED = frozenset({"submit"})


def _replayed(case: Case, action: str, key: str | None) -> bool:
    if action in KEYED:
        return case.state != states.DRAFT and bool(key) and case.idempotency_key == key
    return case.state in states.targets(action)


async def apply(
    principal: Principal, case_id: int, action: str, *, idempotency_key: str | None = None, secret: str = "",
    now: dt.datetime | None = None,
) -> Applied:
    """Make ``action`` happen to the case, or raise why not (NotFound outside the caller's scope,
    TransitionRefused, or the effect's own refusal: missing materials, a reused key …)."""
    if action in KEYED:
        cases.check_idempotency_key(idempotency_key)
    move = Move(principal, now or dt.datetime.now(dt.UTC), idempotency_key, secret)
    try:
        async with in_transaction() as conn:
            case = await cases.own_case(principal, case_id, conn, lock=True)
            if _replayed(case, action, idempotency_key):
                return Applied(case, True)
            rule = states.decide(case.state, action, principal.role)
            if rule.to_state is None:
                raise ValueError(f"{action} changes no state: it is not a move for apply()")
            before = case.state
            effect = EFFECTS.get(action)
            extra = await effect(conn, case, move) if effect is not None else {}
            case.state = rule.to_state
            await case.save(using_db=conn)
            await CaseEvent.create(case_id=case.id, at=move.at, action=action, actor=principal.subject,
                                   from_state=before, to_state=case.state, using_db=conn)
            await record(conn, principal.subject, f"case.{action}", "case", case.number or str(case.id),
                         before={"state": before}, after={"state": case.state, **extra})
            return Applied(case, False)
    except IntegrityError:
        if action in KEYED:  # the same key raced onto two cases of this applicant
            raise cases.key_reused() from None
        raise
