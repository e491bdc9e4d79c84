"""The transition table, called without HTTP or a database: literal expected outcomes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.core.errors import Conflict, Forbidden
from api.workflow import states
from api.workflow.states import ActionForbidden, TransitionRefused, allowed_actions, decide


@pytest.mark.parametrize(("state", "role", "expected"), [
    ("draft", "citizen", ["update", "discard", "submit"]),
    ("submitted", "citizen", ["withdraw"]),
    ("submitted", "clerk", ["accept", "refuse", "request_correction", "comment", "claim", "release"]),
    ("accepted", "officer", ["start_review", "comment", "claim", "release"]),
    ("in_review", "approver", ["approve", "deny", "extend", "suspend", "comment", "claim", "release"]),
    ("in_review", "officer", ["suspend", "comment", "claim", "release"]),
    ("correction_requested", "citizen", ["resupply", "withdraw"]),
    ("approved", "citizen", []),  # decided: too late to withdraw
    ("delivered", "clerk", []),
    ("withdrawn", "citizen", []),
    ("draft", "clerk", []),  # staff never change a citizen's draft
    ("submitted", "admin", []),
    ("no_such_state", "citizen", []),
])
def test_allowed_actions(state: str, role: str, expected: list[str]) -> None:
    assert allowed_actions(state, role) == expected


def test_an_extension_is_offered_once() -> None:
    """行政许可法 §42: the time limit is extended once; after that the table no longer offers it."""
    used = states.used_actions(extended=True)
    assert "extend" in allowed_actions("in_review", "approver", states.used_actions(extended=False))
    assert allowed_actions("in_review", "approver", used) == ["approve", "deny", "suspend", "comment", "claim",
                                                             "release"]
    # Only once-only actions are ever taken away, whatever else a caller passes as used.
    assert allowed_actions("in_review", "approver", {"approve", "comment"}) == allowed_actions("in_review", "approver")


@given(st.sampled_from(sorted({s for s, _ in states.RULES})),
       st.sampled_from(["citizen", "clerk", "officer", "approver", "supervisor", "admin", "system"]), st.booleans())
def test_a_used_extension_never_adds_an_action(state: str, role: str, extended: bool) -> None:
    after = allowed_actions(state, role, states.used_actions(extended=extended))
    before = allowed_actions(state, role)
    assert set(after) <= set(before) and set(before) - set(after) <= ({"extend"} if extended else set())


def test_case_facts_change_what_may_happen() -> None:
    instant = states.case_facts(case_type="1", owing=False)
    owing = states.case_facts(case_type="2", owing=True)
    assert instant == {states.INSTANT} and owing == {states.OWING}
    assert allowed_actions("accepted", "clerk", facts=instant) == ["approve", "deny", "comment", "claim", "release"]
    assert allowed_actions("accepted", "clerk") == ["comment", "claim", "release"]
    assert allowed_actions("in_review", "approver", facts=owing) == ["deny", "extend", "suspend", "comment",
                                                                     "claim", "release"]
    assert allowed_actions("in_review", "citizen", facts=owing) == ["withdraw", "make_up"]
    assert allowed_actions("in_review", "system", facts=owing) == ["terminate"]
    assert decide("in_review", "terminate", "system", owing).to_state == "terminated"
    with pytest.raises(states.FactBars) as barred:
        decide("in_review", "approve", "approver", owing)
    assert barred.value.message == "申请人尚未补齐容缺受理的材料，补齐之前不能批准" and barred.value.field == "state"
    with pytest.raises(TransitionRefused):  # not a 即办件: the department decides it
        decide("accepted", "approve", "clerk")
    with pytest.raises(ActionForbidden):  # a 即办件 is decided by the window, not by an officer
        decide("accepted", "approve", "officer", instant)
    assert "terminated" in states.FINAL


def test_moves() -> None:
    assert decide("draft", "submit", "citizen").to_state == "submitted"
    assert decide("submitted", "withdraw", "citizen").to_state == "withdrawn"
    assert decide("draft", "update", "citizen").to_state is None  # stays a draft
    assert states.targets("withdraw") == {"withdrawn"} and states.targets("update") == frozenset()


def test_a_role_that_may_not_act_is_told_so() -> None:
    with pytest.raises(ActionForbidden) as refused:
        decide("draft", "submit", "clerk")
    assert isinstance(refused.value, Forbidden)
    assert refused.value.message == "您无权对这个办件进行此操作"
    assert refused.value.detail == "role clerk may not submit a draft case"


@pytest.mark.parametrize(("state", "action", "role", "message", "detail"), [
    ("draft", "withdraw", "citizen", "这个办件现在不能撤回（草稿无需撤回，可直接放弃）",
     "cannot withdraw a draft case"),
    ("submitted", "submit", "citizen", "这个办件已经提交过了", "case is already submitted"),
    ("submitted", "update", "citizen", "已提交的办件不能再修改", "case is submitted, not a draft"),
    ("withdrawn", "discard", "citizen", "已提交的办件不能删除，如需取消请撤回", "case is withdrawn, not a draft"),
    ("submitted", "fly", "citizen", "办件当前为「已提交，等待受理」，不能fly（现在可以：撤回申请）",
     "action fly not allowed in submitted; allowed now: withdraw"),
    ("accepted", "accept", "clerk", "办件当前为「已受理」，不能受理（现在可以：内部意见、认领、放回队列）",
     "action accept not allowed in accepted; allowed now: comment, claim, release"),
])
def test_refusals_say_why(state: str, action: str, role: str, message: str, detail: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        decide(state, action, role)
    assert isinstance(refused.value, Conflict)
    assert (refused.value.message, refused.value.detail, refused.value.field) == (message, detail, "state")


roles = st.sampled_from(["citizen", "clerk", "officer", "approver", "supervisor", "admin", "system"])
actions = st.sampled_from(sorted({a for _, a in states.RULES} | {"fly"}))


facts = st.frozensets(st.sampled_from([states.INSTANT, states.OWING]))


@given(state=st.sampled_from(states.STATES), role=roles, action=actions, have=facts)
def test_decide_agrees_with_allowed_actions(state: str, role: str, action: str, have: frozenset[str]) -> None:
    """Whatever the state, role, action and case facts: decide() allows exactly what
    allowed_actions() lists, and a move never leaves the lifecycle's states."""
    allowed = action in allowed_actions(state, role, facts=have)
    try:
        rule = decide(state, action, role, have)
    except (TransitionRefused, ActionForbidden, states.FactBars):
        assert not allowed
    else:
        assert allowed and (rule.to_state is None or rule.to_state in states.STATES)


@given(state=st.sampled_from(states.STATES), role=roles, have=facts)
def test_final_states_allow_nothing_and_decisions_come_from_approvers(state: str, role: str,
                                                                     have: frozenset[str]) -> None:
    offered = allowed_actions(state, role, facts=have)
    if state in states.FINAL:
        assert offered == []
    if "approve" in offered or "deny" in offered:  # or the window, on the spot, for a 即办件
        assert (role == "approver" and state == "in_review") or (
            role == "clerk" and state == "accepted" and states.INSTANT in have)
    if "approve" in offered:
        assert states.OWING not in have  # nobody approves while 容缺 materials are owed
    if "make_up" in offered or "terminate" in offered:
        assert states.OWING in have and state in states.BEFORE_DECISION
    if "withdraw" in offered:  # before a decision only, by the applicant
        assert role == "citizen" and state in states.BEFORE_DECISION
