"""What may happen to a case, and who may do it: one table, pure (no ORM, no HTTP).

``RULES`` maps (state, action) to a ``Rule``: the state the case moves to (``None``: it stays, as
when a draft is edited or a comment is written), the roles that may act, whose the case must be for
them (``scope``: the applicant's own; the window category's; the implementing department's), and the
fields the action needs. ``decide`` answers the move or raises why not in words a person understands;
``allowed_actions`` is what case responses carry, so that no client keeps its own copy of these rules.

The lifecycle (DESIGN §3)::

    draft ─submit→ submitted ─accept→ accepted ─start_review→ in_review ─approve→ approved ─deliver→ delivered
                     │  ▲                                      │  │  └─deny→ denied ─deliver→ delivered
                     │  └─resupply─ correction_requested ←─request_correction (one notice, full list)
                     └─refuse→ refused                         └─suspend→ suspended ─resume→ in_review
    withdraw (the applicant, before a decision) → withdrawn

Some rules hold only for cases with a fact (``Rule.when``) or are barred by one (``Rule.unless``):

* 即办件 (``INSTANT``, an item of case type 1): the window decides it on the spot — the clerk
  approves or denies the accepted case.
* 容缺受理 (``OWING``: the applicant submitted with a secondary material missing against a signed
  promise): the applicant makes the material up (``make_up``) by the make-up deadline; until then
  nobody approves the case; past it the platform ends it (``terminate`` → terminated).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from api.core.errors import Conflict, Forbidden

DRAFT = "draft"
SUBMITTED = "submitted"
ACCEPTED = "accepted"
IN_REVIEW = "in_review"
CORRECTION = "correction_requested"
SUSPENDED = "suspended"
APPROVED = "approved"
DENIED = "denied"
REFUSED = "refused"
DELIVERED = "delivered"
WITHDRAWN = "withdrawn"
TERMINATED = "terminated"  # 容缺受理 whose promised materials never came: ended by the platform

STATES = (DRAFT, SUBMITTED, ACCEPTED, IN_REVIEW, CORRECTION, SUSPENDED, APPROVED, DENIED, REFUSED, DELIVERED,
          WITHDRAWN, TERMINATED)
#: Chinese names shown to people.
STATE_NAMES = {
    DRAFT: "草稿", SUBMITTED: "已提交，等待受理", ACCEPTED: "已受理", IN_REVIEW: "审查中",
    CORRECTION: "待补正", SUSPENDED: "特别程序中（计时暂停）", APPROVED: "已批准，待送达", DENIED: "不予批准，待送达",
    REFUSED: "不予受理", DELIVERED: "已办结", WITHDRAWN: "已撤回", TERMINATED: "已终止（容缺材料逾期未补齐）",
}
#: The states whose case is finished: nothing more will happen.
FINAL = frozenset({REFUSED, DELIVERED, WITHDRAWN, TERMINATED})
#: The clock is stopped while the case waits for the applicant or a special procedure.
PAUSED = frozenset({CORRECTION, SUSPENDED})

#: The moves that appear on a case's timeline, by name.
ACTION_NAMES = {
    "submit": "提交申请", "withdraw": "撤回申请", "accept": "受理", "refuse": "不予受理",
    "request_correction": "一次性告知补正", "resupply": "提交补正材料", "start_review": "开始审查",
    "approve": "批准", "deny": "不予批准", "suspend": "特别程序（暂停计时）", "resume": "恢复审查",
    "deliver": "送达办结", "comment": "内部意见", "claim": "认领", "release": "放回队列",
    "deem_accepted": "逾期未告知补正，依法视为受理", "extend": "延长办理期限",
    # 并联审批 (workflow/parallel.py): the departments' moves and the joint survey, on the parent's timeline.
    "sub_start_review": "部门开始审查", "sub_approve": "部门审查同意", "sub_deny": "部门审查不同意",
    "survey_scheduled": "安排联合踏勘（暂停计时）", "survey_findings": "部门踏勘意见",
    "survey_closed": "联合踏勘结束（恢复计时）",
    "make_up": "补齐容缺材料", "terminate": "容缺材料逾期未补齐，办件终止",
}

#: Case facts some rules depend on (``Rule.when`` / ``Rule.unless``; ``case_facts`` derives them).
INSTANT = "instant"  # 即办件: decided at the window
OWING = "owing"  # 容缺受理: promised materials not yet made up


@dataclass(frozen=True, slots=True)
class Field:
    """A field an action's body carries."""

    name: str
    kind: str  # text | materials (a list of {code, problem}) | codes (material codes) | integer | consent
    # (true or false) | choice (one of ``choices``)
    required: bool = True
    max_length: int = 1000
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    to_state: str | None  # None: the case stays where it is
    roles: frozenset[str]
    scope: str  # applicant | window | department | any_staff (each in its own scope: see cases.visible_case)
    fields: tuple[Field, ...] = ()
    when: str | None = None  # a case fact without which the rule does not exist
    unless: str | None = None  # a case fact that bars the move (the caller is told why: BARS)


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str  # Chinese, for the person
    detail: str  # English; "{state}" is filled in


APPLICANT = frozenset({"citizen"})
CLERK = frozenset({"clerk"})
OFFICER = frozenset({"officer", "approver"})
APPROVER = frozenset({"approver"})
STAFF = frozenset({"clerk", "officer", "approver"})
SYSTEM = frozenset({"system"})  # the platform itself, on a schedule
BEFORE_DECISION = (SUBMITTED, ACCEPTED, IN_REVIEW, CORRECTION, SUSPENDED)
OPEN = (SUBMITTED, ACCEPTED, IN_REVIEW, CORRECTION, SUSPENDED, APPROVED, DENIED)

REASON = Field("reason", "text")
OPINION = Field("opinion", "text", required=False)
COMMENT = Field("text", "text", max_length=2000)
# 送达: the method, and for express mail the carrier and tracking number (api/workflow/delivery.py).
DELIVERY = (Field("method", "choice", choices=("electronic", "window", "express")),
            Field("carrier", "text", required=False, max_length=40),
            Field("tracking_number", "text", required=False, max_length=40))

RULES: dict[tuple[str, str], Rule] = {
    (DRAFT, "update"): Rule(None, APPLICANT, "applicant"),
    (DRAFT, "discard"): Rule(None, APPLICANT, "applicant"),
    # 容缺: the tolerated materials submitted without, and the signed promise to make them up.
    (DRAFT, "submit"): Rule(SUBMITTED, APPLICANT, "applicant", (Field("tolerated", "codes", required=False),
                                                              Field("promise", "consent", required=False))),
    (SUBMITTED, "accept"): Rule(ACCEPTED, CLERK, "window"),
    (SUBMITTED, "refuse"): Rule(REFUSED, CLERK, "window", (REASON,)),
    # 行政许可法 §32: no notice within 5 days of submission, and the case counts as accepted that day.
    (SUBMITTED, "deem_accepted"): Rule(ACCEPTED, SYSTEM, "any"),
    # The one-time notice: every material to fix, each with what is wrong, from the checklist only;
    # a second notice on one case needs its own reason (checked by the service: it counts them).
    (SUBMITTED, "request_correction"): Rule(
        CORRECTION, CLERK, "window", (Field("materials", "materials"), Field("reason", "text", required=False))),
    (CORRECTION, "resupply"): Rule(SUBMITTED, APPLICANT, "applicant"),
    (ACCEPTED, "start_review"): Rule(IN_REVIEW, OFFICER, "department"),
    # 即办件: the window that accepted it decides it on the spot.
    (ACCEPTED, "approve"): Rule(APPROVED, CLERK, "window", (OPINION,), when=INSTANT, unless=OWING),
    (ACCEPTED, "deny"): Rule(DENIED, CLERK, "window", (REASON,), when=INSTANT),
    (IN_REVIEW, "approve"): Rule(APPROVED, APPROVER, "department", (OPINION,), unless=OWING),
    (IN_REVIEW, "deny"): Rule(DENIED, APPROVER, "department", (REASON,)),
    # An extension (延长), once, granted by an approver, never past the legal limit.
    (IN_REVIEW, "extend"): Rule(None, APPROVER, "department", (Field("days", "integer"), REASON)),
    (IN_REVIEW, "suspend"): Rule(
        SUSPENDED, OFFICER, "department", (Field("procedure", "text", max_length=50), REASON)),
    (SUSPENDED, "resume"): Rule(IN_REVIEW, OFFICER, "department", (Field("findings", "text", required=False),)),
    (APPROVED, "deliver"): Rule(DELIVERED, STAFF, "department", DELIVERY),
    (DENIED, "deliver"): Rule(DELIVERED, STAFF, "department", DELIVERY),
    **{(state, "withdraw"): Rule(WITHDRAWN, APPLICANT, "applicant") for state in BEFORE_DECISION},
    # 容缺受理: the promised materials, uploaded, are handed in; past the deadline the case ends.
    **{(state, "make_up"): Rule(None, APPLICANT, "applicant", when=OWING) for state in BEFORE_DECISION},
    **{(state, "terminate"): Rule(TERMINATED, SYSTEM, "any", when=OWING) for state in (ACCEPTED, IN_REVIEW, SUSPENDED)},
    **{(state, "comment"): Rule(None, STAFF, "any_staff", (COMMENT,)) for state in OPEN},
    **{(state, "claim"): Rule(None, STAFF, "any_staff") for state in OPEN},
    **{(state, "release"): Rule(None, STAFF, "any_staff") for state in OPEN},
}

#: Why an applicant's action is refused in a state it is not allowed in (the detail names the state).
REFUSALS: dict[str, Refusal] = {
    "update": Refusal("已提交的办件不能再修改", "case is {state}, not a draft"),
    "discard": Refusal("已提交的办件不能删除，如需取消请撤回", "case is {state}, not a draft"),
    "submit": Refusal("这个办件已经提交过了", "case is already {state}"),
    "withdraw": Refusal("这个办件现在不能撤回（草稿无需撤回，可直接放弃）", "cannot withdraw a {state} case"),
}


#: Why a fact bars a move the state allows (``Rule.unless``).
BARS: dict[str, Refusal] = {
    OWING: Refusal("申请人尚未补齐容缺受理的材料，补齐之前不能批准", "the applicant still owes tolerated materials"),
}


class TransitionRefused(Conflict):
    """The case's state does not allow this action now; says the state and what is allowed."""

    def __init__(self, action: str, state: str, allowed: list[str] | None = None) -> None:
        refusal = REFUSALS.get(action)
        if refusal is not None:
            message, detail = refusal.message, refusal.detail.format(state=state)
        else:
            name, what = STATE_NAMES.get(state, state), ACTION_NAMES.get(action, action)
            now = "、".join(ACTION_NAMES.get(a, a) for a in allowed or []) or "无"
            message = f"办件当前为「{name}」，不能{what}（现在可以：{now}）"
            detail = f"action {action} not allowed in {state}; allowed now: {', '.join(allowed or []) or 'none'}"
        super().__init__(message, detail, "state")
        self.action = action
        self.state = state


class ActionForbidden(Forbidden):
    """The state allows the action, but not by a caller of this role."""

    def __init__(self, action: str, state: str, role: str) -> None:
        super().__init__("您无权对这个办件进行此操作", f"role {role} may not {action} a {state} case", "state")


class FactBars(Conflict):
    """The state allows the move, but a fact of the case bars it for now (BARS says which)."""

    def __init__(self, action: str, fact: str) -> None:
        bar = BARS[fact]
        super().__init__(bar.message, f"{action}: {bar.detail}", "state")
        self.fact = fact


def _exists(rule: Rule | None, facts: frozenset[str]) -> bool:
    return rule is not None and (rule.when is None or rule.when in facts)


def decide(state: str, action: str, role: str, facts: Iterable[str] = ()) -> Rule:
    """The move ``action`` makes from ``state`` for a caller of ``role`` on a case with ``facts``;
    TransitionRefused when the state does not allow it, ActionForbidden when the role may not,
    FactBars when a fact of the case bars it for now."""
    have = frozenset(facts)
    rule = RULES.get((state, action))
    if rule is None or not _exists(rule, have):
        raise TransitionRefused(action, state, allowed_actions(state, role, facts=have))
    if role not in rule.roles:
        raise ActionForbidden(action, state, role)
    if rule.unless is not None and rule.unless in have:
        raise FactBars(action, rule.unless)
    return rule


def targets(action: str) -> frozenset[str]:
    """The states ``action`` moves a case to (where a retry of it finds the case)."""
    return frozenset(rule.to_state for (_, a), rule in RULES.items() if a == action and rule.to_state)


#: Actions a case takes at most once in its life (行政许可法 §42: the time limit is extended once).
ONCE = frozenset({"extend"})


def allowed_actions(state: str, role: str, used: Iterable[str] = (), facts: Iterable[str] = ()) -> list[str]:
    """The actions a caller of ``role`` may take on a case in ``state`` with ``facts`` (in the
    table's order), less the once-only actions in ``used`` (those the case has already taken)."""
    spent, have = ONCE.intersection(used), frozenset(facts)
    return [action for (at, action), rule in RULES.items()
            if at == state and role in rule.roles and action not in spent and _exists(rule, have)
            and (rule.unless is None or rule.unless not in have)]


def used_actions(*, extended: bool) -> frozenset[str]:
    """The once-only actions a case with these facts has taken."""
    return frozenset({"extend"}) if extended else frozenset()


def case_facts(*, case_type: str, owing: bool) -> frozenset[str]:
    """The facts of a case the rules depend on: 即办件 (case type 1), 容缺 materials still owed."""
    return frozenset(f for f, yes in ((INSTANT, case_type == "1"), (OWING, owing)) if yes)


def rule_for(state: str, action: str) -> Rule | None:
    return RULES.get((state, action))
