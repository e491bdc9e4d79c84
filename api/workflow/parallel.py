"""并联审批 as data and pure rules (no ORM, no HTTP), without a process engine.

A case whose item version names ``joint_departments`` is reviewed in parallel by every involved
department (the implementing one first, then the joint ones): at acceptance one sub-case per
department is opened, each with the small lifecycle ``SUB_RULES``::

    accepted ─start_review→ in_review ─approve→ approved
                                      └─deny→ denied   (a reason required)

The parent case waits in review meanwhile; its own approve / deny / suspend are not for people
(``PARENT_BLOCKED``): ``join`` decides it when the last department has decided — approved when
every department approved, denied when any denied, with every denial's reason. The one joint
site survey (一次踏勘) stops the parent's clock once for all departments; while it is open no
department decides (the services check it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from api.catalog.flows import FlowStepDoc
from api.workflow import states
from api.workflow.states import ACCEPTED, APPROVED, APPROVER, DENIED, IN_REVIEW, OFFICER, REASON, Field, Rule

SUB_RULES: dict[tuple[str, str], Rule] = {
    (ACCEPTED, "start_review"): Rule(IN_REVIEW, OFFICER, "department"),
    (IN_REVIEW, "approve"): Rule(APPROVED, APPROVER, "department", (Field("opinion", "text", required=False),)),
    (IN_REVIEW, "deny"): Rule(DENIED, APPROVER, "department", (REASON,)),
}
SUB_DECIDED = frozenset({APPROVED, DENIED})
#: The decisions a department takes: refused while the joint survey is open.
DECISIONS = frozenset({"approve", "deny"})
#: The parent's own moves that the join makes instead (a suspension: the joint survey stops the clock).
PARENT_BLOCKED = frozenset({"approve", "deny", "suspend"})
#: What a joint department (not the implementing one) may do on the parent case itself.
JOINT_PARENT_ACTIONS = frozenset({"comment"})
#: The flow's steps a department works through on its sub-case (the window's are the parent's).
DEPARTMENT_STEPS = frozenset({"initial_review", "review", "decide"})

@dataclass(frozen=True, slots=True)
class SubState:
    department: str
    state: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Joined:
    decision: str | None  # approved | denied | None: some department has not decided yet
    reasons: dict[str, str]  # every denying department's reason, in the departments' order


def departments(implementing: str, joint: Sequence[str]) -> list[str]:
    """The involved departments: the implementing one, then each joint one (once each)."""
    out = [implementing] if implementing else []
    return out + [d for d in dict.fromkeys(joint) if d and d != implementing]


def department_days(flow: Iterable[FlowStepDoc]) -> int:
    """Working days a department has for its sub-case: its steps' limits in the item's flow."""
    return sum(max(s.limit, 0) for s in flow if s.code in DEPARTMENT_STEPS)


def join(subs: Iterable[SubState]) -> Joined:
    """The parent's decision from its departments': None until each has decided; then denied when
    any denied (with every reason), else approved."""
    subs = list(subs)
    if not subs or any(s.state not in SUB_DECIDED for s in subs):
        return Joined(None, {})
    reasons = {s.department: s.reason for s in subs if s.state == DENIED}
    return Joined(DENIED if reasons else APPROVED, reasons)


def decide_sub(state: str, action: str, role: str) -> Rule:
    """The move ``action`` makes on a sub-case in ``state`` for ``role`` (the refusals of states.decide)."""
    rule = SUB_RULES.get((state, action))
    if rule is None:
        raise states.TransitionRefused(action, state, sub_actions(state, role))
    if role not in rule.roles:
        raise states.ActionForbidden(action, state, role)
    return rule


def sub_actions(state: str, role: str, *, survey_open: bool = False) -> list[str]:
    return [a for (at, a), rule in SUB_RULES.items()
            if at == state and role in rule.roles and not (survey_open and a in DECISIONS)]


def parent_actions(actions: Iterable[str], *, joint: bool, implementing: bool) -> list[str]:
    """The parent's allowed actions for a joint case: the join decides; a joint department comments."""
    if not joint:
        return list(actions)
    return [a for a in actions if a not in PARENT_BLOCKED and (implementing or a in JOINT_PARENT_ACTIONS)]
