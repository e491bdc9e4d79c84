"""The workbench queues: what waits for a window or a department, due first (keyset, indexed).

A clerk sees every case of their window category, whatever the department (受办分离); an officer or
approver their department's, from acceptance on, and the joint cases (并联审批) whose part of theirs
is undecided (in the parent's due order); a supervisor every department's. Only work that
waits for staff is queued (a case waiting for the applicant's correction has no due date of theirs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from api.cases import services as cases
from api.cases.models import Case
from api.core import cursors
from api.identity.principal import Principal
from api.workflow import parallel, states
from api.workflow.models import SubCase


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    item_code: str | None = None
    due_before: dt.date | None = None
    overdue: bool = False
    mine: bool = False


@dataclass(frozen=True, slots=True)
class Queue:
    cases: list[Case]
    next_cursor: str | None
    counts: dict[str, int]


#: The states each kind of staff works on, when no state is asked for.
DEFAULT_STATES = {
    "clerk": (states.SUBMITTED, states.APPROVED, states.DENIED),
    "officer": (states.ACCEPTED, states.IN_REVIEW, states.SUSPENDED, states.APPROVED, states.DENIED),
    "approver": (states.IN_REVIEW, states.ACCEPTED, states.SUSPENDED),
    "supervisor": (states.SUBMITTED, states.ACCEPTED, states.IN_REVIEW, states.SUSPENDED, states.APPROVED,
                   states.DENIED),
}


async def queue(principal: Principal, filters: Filters, *, limit: int = 20, cursor: str | None = None,
                today: dt.date | None = None) -> Queue:
    role = principal.role
    if role not in DEFAULT_STATES:
        return Queue([], None, {})
    scope = Case.filter(due_date__isnull=False).exclude(state=states.DRAFT)
    if role == "clerk":
        category = await cases.window_category(principal)
        scope = scope.filter(window_category=category or "\0")  # a clerk without a window sees nothing
    elif role in ("officer", "approver"):
        department = principal.department or "\0"
        waiting = SubCase.filter(department_code=department).exclude(state__in=parallel.SUB_DECIDED)
        scope = scope.filter(Q(department_code=department) | Q(id__in=Subquery(waiting.values("case_id"))),
                             accepted_at__isnull=False)
    if filters.item_code:
        scope = scope.filter(item_code=filters.item_code)
    if filters.mine:
        scope = scope.filter(claimed_by=principal.subject)
    counts = {row["state"]: int(row["n"]) for row in
              await scope.annotate(n=Count("id")).group_by("state").values("state", "n")}
    wanted = (filters.state,) if filters.state else DEFAULT_STATES[role]
    query = scope.filter(state__in=wanted)
    if filters.due_before:
        query = query.filter(due_date__lt=filters.due_before)
    if filters.overdue:
        query = query.filter(due_date__lt=today or dt.date.today())
    if cursor:
        due, case_id = cursors.decode_day(cursor)
        query = query.filter(Q(due_date__gt=due) | Q(due_date=due, id__gt=case_id))
    rows = list(await query.order_by("due_date", "id").limit(limit + 1))
    if len(rows) > limit:
        last = rows[limit - 1]
        return Queue(rows[:limit], cursors.encode(last.due_date, last.id), counts)  # type: ignore[arg-type]
    return Queue(rows, None, counts)
