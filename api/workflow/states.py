"""What may happen to a case, and who may do it: one table, pure (no ORM, no HTTP).

``RULES`` maps (state, action) to a ``Rule``: the state the case moves to (``None``: it stays, as
when a draft is edited or discarded), the roles that may act, and whether the caller must be the
case's own applicant (``scope``). ``decide`` answers a move or raises ``TransitionRefused`` with the
words a person understands; ``allowed_actions`` is what the case responses carry, so that no client
keeps its own copy of these rules. The workflow issue adds the staff actions (accept, refuse,
request_correction, …) as rows of the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.core.errors import Conflict, Forbidden

DRAFT = "draft"
SUBMITTED = "submitted"
WITHDRAWN = "withdrawn"

STATES = (DRAFT, SUBMITTED, WITHDRAWN)  # the workflow issue adds the rest of DESIGN §3
#: Chinese names shown to people.
STATE_NAMES = {DRAFT: "草稿", SUBMITTED: "已提交，等待受理", WITHDRAWN: "已撤回"}
#: The moves that appear on a case's timeline, by name.
ACTION_NAMES = {"submit": "提交申请", "withdraw": "撤回申请"}


@dataclass(frozen=True, slots=True)
class Rule:
    to_state: str | None  # None: the case stays where it is
    roles: frozenset[str]
    scope: str  # "applicant": only the case's own applicant


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str  # Chinese, for the person
    detail: str  # English; "{state}" is filled in


APPLICANT = frozenset({"citizen"})

RULES: dict[tuple[str, str], Rule] = {
    (DRAFT, "update"): Rule(None, APPLICANT, "applicant"),
    (DRAFT, "discard"): Rule(None, APPLICANT, "applicant"),
    (DRAFT, "submit"): Rule(SUBMITTED, APPLICANT, "applicant"),
    # Before a decision (DESIGN §3); the workflow issue adds accepted, in_review, correction_requested
    # and suspended once staff can move a case there.
    (SUBMITTED, "withdraw"): Rule(WITHDRAWN, APPLICANT, "applicant"),
}

#: Why an action is refused in a state it is not allowed in (by action; the detail names the state).
REFUSALS: dict[str, Refusal] = {
    "update": Refusal("已提交的办件不能再修改", "case is {state}, not a draft"),
    "discard": Refusal("已提交的办件不能删除，如需取消请撤回", "case is {state}, not a draft"),
    "submit": Refusal("这个办件已经提交过了", "case is already {state}"),
    "withdraw": Refusal("这个办件现在不能撤回（草稿无需撤回，可直接放弃）", "cannot withdraw a {state} case"),
}


class TransitionRefused(Conflict):
    """The case's state does not allow this action (now, or by this caller)."""

    def __init__(self, action: str, state: str) -> None:
        refusal = REFUSALS.get(action, Refusal("这个办件现在不能进行此操作", "action {action} not allowed in {state}"))
        super().__init__(refusal.message, refusal.detail.format(state=state, action=action), "state")
        self.action = action
        self.state = state


class ActionForbidden(Forbidden):
    """The state allows the action, but not by a caller of this role."""

    def __init__(self, action: str, state: str, role: str) -> None:
        super().__init__("您无权对这个办件进行此操作", f"role {role} may not {action} a {state} case", "state")


def decide(state: str, action: str, role: str) -> Rule:
    """The move ``action`` makes from ``state`` for a caller of ``role``; TransitionRefused when the
    state does not allow it, ActionForbidden when the role may not."""
    rule = RULES.get((state, action))
    if rule is None:
        raise TransitionRefused(action, state)
    if role not in rule.roles:
        raise ActionForbidden(action, state, role)
    return rule


def targets(action: str) -> frozenset[str]:
    """The states ``action`` moves a case to (where a retry of it finds the case)."""
    return frozenset(rule.to_state for (_, a), rule in RULES.items() if a == action and rule.to_state)


def allowed_actions(state: str, role: str) -> list[str]:
    """The actions a caller of ``role`` may take on a case in ``state`` (in the table's order)."""
    return [action for (at, action), rule in RULES.items() if at == state and role in rule.roles]
