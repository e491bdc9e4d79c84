"""An item version's flow (办理流程) as data: its ordered steps, who acts in each, and each step's
time limit in working days. Pure: no ORM, no HTTP — the workflow calls ``flow_of`` to know which
steps a case goes through, and the catalog's validation calls ``flow_problems``.

A step's ``owner`` depends on the role that acts in it: for a clerk (窗口人员) it is a window code,
for an officer or approver a department code. Empty means the default: the item's window (which
may itself be empty — county items have none: any clerk of the hall) or the implementing
department.

Time limits are working days. A promised limit in natural days (自然日) is held to five working
days in seven (``working_day_budget``): a week's share, which a week with a public holiday can
undercut; the workflow's clock (workflow/deadlines.py) counts the real calendar for the case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from api.catalog import codes

if TYPE_CHECKING:
    from api.catalog.document import ItemDoc

STEP_ORDER: tuple[str, ...] = tuple(codes.FLOW_STEPS)
WINDOW_ROLES = frozenset({"clerk"})  # roles whose owner is a window; the others' is a department


class FlowStepDoc(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    code: str  # accept | initial_review | review | decide | deliver
    role: str  # clerk | officer | approver
    name: str = ""  # empty: the step's standard name (受理, 初审, …)
    owner: str = ""  # window code (clerk) or department code (officer, approver); empty: the default
    limit: int = 0  # working days; 0 = the same day


def step_name(step: FlowStepDoc) -> str:
    return step.name or codes.FLOW_STEPS.get(step.code, (step.code, ""))[0]


def owner_is_window(role: str) -> bool:
    return role in WINDOW_ROLES


def working_day_budget(limit: int, unit: str) -> int:
    """The working days a promised limit leaves for the steps (see the module docstring)."""
    return limit * 5 // 7 if unit == "natural_day" else limit


def _limit_of(item: ItemDoc, situation: str | None) -> int:
    for s in item.situations:
        if s.code == situation and s.promised_limit is not None:
            return s.promised_limit
    return item.promised_limit


def default_flow(item: ItemDoc, promised_limit: int | None = None) -> list[FlowStepDoc]:
    """The flow of an item that declares none. 即办件: accepted and decided at the window the same
    day. 承诺件: accept (clerk, 1 day) → review (officer) → decide (approver) → deliver (clerk, 1 day),
    the days shared out so that their sum never exceeds the promised limit; a short limit takes the
    window's days first (acceptance and delivery the same day)."""
    window, department = item.window, item.department
    if item.case_type == "1":
        return [
            FlowStepDoc(code="accept", role="clerk", name="受理", owner=window, limit=0),
            FlowStepDoc(code="decide", role="clerk", name="决定", owner=window, limit=0),
        ]
    limit = item.promised_limit if promised_limit is None else promised_limit
    budget = max(working_day_budget(limit, item.promised_limit_unit), 0)
    accept = 1 if budget >= 3 else 0
    deliver = 1 if budget >= 4 else 0
    rest = budget - accept - deliver
    decide = max(1, rest // 3) if rest >= 2 else 0
    review = rest - decide
    return [
        FlowStepDoc(code="accept", role="clerk", name="受理", owner=window, limit=accept),
        FlowStepDoc(code="review", role="officer", name="审查", owner=department, limit=review),
        FlowStepDoc(code="decide", role="approver", name="决定", owner=department, limit=decide),
        FlowStepDoc(code="deliver", role="clerk", name="送达", owner=window, limit=deliver),
    ]


def flow_of(item: ItemDoc, situation: str | None = None) -> list[FlowStepDoc]:
    """The steps a case of this item version goes through, every name and owner filled in.

    The item's own flow when it declares one; otherwise ``default_flow`` for the promised limit of
    ``situation`` (a situation may promise a shorter or longer limit than the item)."""
    if not item.flow:
        return default_flow(item, _limit_of(item, situation))
    return [
        msgspec.structs.replace(
            s, name=step_name(s),
            owner=s.owner or (item.window if owner_is_window(s.role) else item.department),
        )
        for s in item.flow
    ]


def _role_names(roles: tuple[str, ...]) -> str:
    return "或".join(f"{codes.STEP_ROLES[r][0]}（{r}）" for r in roles)


def _days(n: int, unit: str) -> str:
    return f"{n} 个{codes.TIME_UNITS.get(unit, ('工作日', ''))[0]}"


def flow_problems(item: ItemDoc) -> list[tuple[str, str, str]]:
    """(where, field, message) for everything wrong with the item's declared flow: the steps'
    order, the roles, the limits against every promised limit. Owners' existence is checked where
    the departments and windows are known (document.validate_document)."""
    out: list[tuple[str, str, str]] = []
    where = f"items[{item.code}]"
    if not item.flow:
        return out  # the default flow: right by construction
    chain = " → ".join(name for name, _ in codes.FLOW_STEPS.values())
    previous = -1
    for n, s in enumerate(item.flow):
        at = f"{where}/flow[{s.code}]"
        if s.code not in codes.FLOW_STEPS:
            out.append((at, "code", f"未知的环节：{s.code}（应为 {' / '.join(STEP_ORDER)}）"))
            continue
        rank = STEP_ORDER.index(s.code)
        if rank <= previous:
            out.append((at, "code", f"第 {n + 1} 个环节「{step_name(s)}」的顺序不对：环节应按 {chain} 排列，"
                                    "每个环节至多出现一次"))
        previous = max(previous, rank)
        allowed = codes.STEP_ALLOWED_ROLES[s.code]
        if s.code == "decide" and item.case_type == "1":
            allowed = (*allowed, "clerk")  # 即办件: decided on the spot at the window
        if s.role not in allowed:
            out.append((at, "role", f"「{step_name(s)}」环节只能由{_role_names(allowed)}办理，不能是 {s.role}"))
        if s.limit < 0:
            out.append((at, "limit", "环节时限不能为负数"))
    present = [s.code for s in item.flow]
    if present[0] != "accept":
        out.append((where, "flow", "流程必须从「受理」环节开始"))
    if "decide" not in present:
        out.append((where, "flow", "流程必须包含「决定」环节"))
    if "review" not in present and (item.case_type == "2" or "initial_review" in present):
        out.append((where, "flow", "承诺件（或有初审的流程）必须包含「审查」环节"))
    total = sum(max(s.limit, 0) for s in item.flow)
    unit = item.promised_limit_unit
    limits = [("承诺时限", item.promised_limit)] + [
        (f"情形「{s.name}」的承诺时限", s.promised_limit) for s in item.situations if s.promised_limit is not None
    ]
    for label, limit in limits:
        budget = working_day_budget(limit, unit)
        if total > budget:
            extra = f"（按每 7 个自然日 5 个工作日计，可用 {budget} 个工作日）" if unit == "natural_day" else ""
            out.append((where, "flow", f"各环节时限合计 {total} 个工作日，超过{label} {_days(limit, unit)}{extra}"))
    return out
