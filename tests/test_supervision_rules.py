"""The supervision rules (api/supervision/rules.py), pure: every rule against a literal expected
outcome, on China's real 2026 calendar (Labour Day: 1–5 May off, Saturday 9 May worked)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from api.supervision import rules
from api.supervision.rules import (
    DEFAULTS,
    CaseFacts,
    Entry,
    Step,
    StepSpec,
    SubFacts,
    Thresholds,
)
from api.workflow.deadlines import CHINA, LIBRARY

D = dt.date


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=CHINA)


REVIEW = Step("review", 10, D(2026, 3, 20))  # ten working days, due Friday 20 March


def test_the_default_thresholds_are_design_5s() -> None:
    assert msgspec.to_builtins(DEFAULTS) == {
        "warning_days_left": 1, "warning_percent_left": 20, "yellow_days_late": 1, "red_days_late": 1,
        "order_days": 5, "order_warning_days_left": 1, "suspension_days": 20, "claim_release_limit": 3,
        "working_hours": ""}


def test_warning_when_20_percent_or_one_working_day_is_left() -> None:
    # 20 % of 10 days = 2 days: Wednesday 18 March (19 and 20 left) warns, Tuesday does not.
    assert rules.warning_reached(REVIEW, DEFAULTS, LIBRARY, D(2026, 3, 17)) is False
    assert rules.warning_reached(REVIEW, DEFAULTS, LIBRARY, D(2026, 3, 18)) is True
    short = Step("deliver", 1, D(2026, 3, 20))  # one day: the 1-working-day rule decides
    assert rules.warning_reached(short, DEFAULTS, LIBRARY, D(2026, 3, 18)) is False
    assert rules.warning_reached(short, DEFAULTS, LIBRARY, D(2026, 3, 19)) is True


def test_yellow_on_the_first_working_day_past_the_limit() -> None:
    assert rules.yellow_reached(REVIEW, DEFAULTS, LIBRARY, D(2026, 3, 20)) is False  # the last day
    assert rules.yellow_reached(REVIEW, DEFAULTS, LIBRARY, D(2026, 3, 21)) is False  # Saturday: no day used
    assert rules.yellow_reached(REVIEW, DEFAULTS, LIBRARY, D(2026, 3, 23)) is True  # Monday
    assert rules.yellow_reached(REVIEW, Thresholds(yellow_days_late=2), LIBRARY, D(2026, 3, 23)) is False


def test_red_past_the_legal_limit_or_an_orders_deadline() -> None:
    legal = Step("review", 10, D(2026, 3, 20), legal_due_date=D(2026, 3, 27))
    assert rules.red_reached(legal, DEFAULTS, LIBRARY, D(2026, 3, 27)) is None
    assert rules.red_reached(legal, DEFAULTS, LIBRARY, D(2026, 3, 30)) == "legal_limit"
    order = Step("order", 5, D(2026, 3, 20))
    assert rules.red_reached(order, DEFAULTS, LIBRARY, D(2026, 3, 23)) == "order_deadline"
    assert rules.yellow_reached(order, DEFAULTS, LIBRARY, D(2026, 3, 30)) is False  # an order turns red, not yellow


def test_a_stopped_clock_never_raises_anything() -> None:
    stopped = Step("review", 10, D(2026, 3, 20), legal_due_date=D(2026, 3, 27), paused_at=at(D(2026, 3, 19)))
    late = D(2026, 4, 30)
    assert rules.due_levels(stopped, DEFAULTS, LIBRARY, late) == []
    assert rules.due_levels(REVIEW, DEFAULTS, LIBRARY, late) == [("warning", "approaching"), ("yellow", "step_limit")]


def test_each_threshold_is_raised_once() -> None:
    raised = Step("review", 10, D(2026, 3, 20), legal_due_date=D(2026, 3, 27), raised=frozenset({"warning"}))
    assert rules.due_levels(raised, DEFAULTS, LIBRARY, D(2026, 3, 30)) == [("yellow", "step_limit"),
                                                                           ("red", "legal_limit")]
    done = Step("review", 10, D(2026, 3, 20), raised=frozenset({"warning", "yellow"}))
    assert rules.due_levels(done, DEFAULTS, LIBRARY, D(2026, 3, 30)) == []


def test_a_suspension_longer_than_allowed() -> None:
    stop = Step("review", 10, D(2026, 3, 20), paused_at=at(D(2026, 3, 9)), pause_limit=5)
    assert rules.overlong_suspension(stop, LIBRARY, D(2026, 3, 16)) is False  # 10, 11, 12, 13, 16: five days
    assert rules.overlong_suspension(stop, LIBRARY, D(2026, 3, 17)) is True


def test_the_next_check_is_the_first_day_a_threshold_can_be_reached() -> None:
    assert rules.next_check_day(REVIEW, DEFAULTS, LIBRARY, D(2026, 3, 9)) == D(2026, 3, 18)  # the warning
    warned = Step("review", 10, D(2026, 3, 20), legal_due_date=D(2026, 3, 27), raised=frozenset({"warning"}))
    assert rules.next_check_day(warned, DEFAULTS, LIBRARY, D(2026, 3, 18)) == D(2026, 3, 23)  # the yellow card
    yellow = Step("review", 10, D(2026, 3, 20), legal_due_date=D(2026, 3, 27), raised=frozenset({"warning", "yellow"}))
    assert rules.next_check_day(yellow, DEFAULTS, LIBRARY, D(2026, 3, 23)) == D(2026, 3, 30)  # the red card
    everything = Step("review", 10, D(2026, 3, 20), raised=frozenset({"warning", "yellow"}))
    assert rules.next_check_day(everything, DEFAULTS, LIBRARY, D(2026, 3, 23)) is None
    stop = Step("review", 10, D(2026, 3, 20), paused_at=at(D(2026, 3, 9)), pause_limit=5)
    assert rules.next_check_day(stop, DEFAULTS, LIBRARY, D(2026, 3, 10)) == D(2026, 3, 17)
    assert rules.next_check_day(Step("review", 10, None, paused_at=at(D(2026, 3, 9))), DEFAULTS, LIBRARY,
                                D(2026, 3, 10)) is None  # a stop with no limit: nothing until it ends
    assert rules.check_moment(D(2026, 3, 18)) == dt.datetime(2026, 3, 18, tzinfo=CHINA)


def test_holidays_and_adjusted_workdays_move_the_checks() -> None:
    # Due Wednesday 6 May, the first working day after Labour Day: one day left on Thursday 30 April.
    around = Step("review", 5, D(2026, 5, 6))
    assert rules.next_check_day(around, DEFAULTS, LIBRARY, D(2026, 4, 27)) == D(2026, 4, 30)
    assert rules.days_left(LIBRARY, D(2026, 4, 30), D(2026, 5, 6)) == 1
    assert rules.next_check_day(Step("review", 5, D(2026, 5, 6), raised=frozenset({"warning"})), DEFAULTS, LIBRARY,
                                D(2026, 4, 30)) == D(2026, 5, 7)
    # Due Friday 8 May: the yellow card comes on Saturday 9 May, a worked day.
    friday = Step("review", 5, D(2026, 5, 8), raised=frozenset({"warning"}))
    assert rules.next_check_day(friday, DEFAULTS, LIBRARY, D(2026, 5, 8)) == D(2026, 5, 9)
    assert rules.yellow_reached(friday, DEFAULTS, LIBRARY, D(2026, 5, 9)) is True
    # An administrator's override (a closure on Thursday 19 March) moves a warning a day earlier.
    closed = LIBRARY.with_override(D(2026, 3, 19), False, "停电")
    assert rules.next_check_day(REVIEW, DEFAULTS, closed, D(2026, 3, 9)) == D(2026, 3, 17)


def test_thresholds_that_make_no_sense_are_named() -> None:
    problems = rules.threshold_problems(Thresholds(warning_days_left=-1, warning_percent_left=150, yellow_days_late=0,
                                                   working_hours="18:00-08:00"))
    assert [(p.field, p.message) for p in problems] == [
        ("warning_days_left", "「预警剩余工作日」不能为负数"),
        ("warning_percent_left", "「预警剩余时限百分比」不能超过 100"),
        ("yellow_days_late", "「黄牌超期工作日」至少为 1：报警在时限届满之后，不能早于或等于预警"),
        ("working_hours", "「工作时间」应写作 08:30-17:30（开始早于结束），或留空表示不检查"),
    ]
    assert [p.field for p in rules.threshold_problems(Thresholds(order_days=3, order_warning_days_left=3))] == [
        "order_warning_days_left"]
    assert rules.threshold_problems(Thresholds(working_hours="08:30-17:30")) == []


def _case(state: str, **kw: object) -> CaseFacts:
    values: dict[str, object] = dict(
        state=state, department_code="SCJGJ", claimed_by=None, submitted_at=at(D(2026, 3, 2)),
        accepted_at=at(D(2026, 3, 3)), decided_at=None, due_date=D(2026, 3, 17), paused_at=None, paused_days=0,
        promised_limit=10, extended_days=0, legal_limit=20, legal_limit_unit="working_day")
    values.update(kw)
    return CaseFacts(**values)  # type: ignore[arg-type]


def test_which_steps_a_case_has_open() -> None:
    now = at(D(2026, 3, 4))
    assert rules.open_steps(_case("submitted", accepted_at=None, due_date=D(2026, 3, 9)), [], LIBRARY, now) == [
        StepSpec("accept", None, "SCJGJ", None, at(D(2026, 3, 2)), 5, D(2026, 3, 9))]
    waiting = rules.open_steps(_case("correction_requested", accepted_at=None, due_date=None,
                                     paused_at=at(D(2026, 3, 3))), [], LIBRARY, now)
    assert waiting == [StepSpec("accept", None, "SCJGJ", None, at(D(2026, 3, 2)), 5, None,
                                paused_at=at(D(2026, 3, 3)))]
    # In review: the promised limit and an extension; the legal limit of 20 days from 3 March, moved by
    # the two days the clock stood still.
    review = rules.open_steps(_case("in_review", claimed_by="staff:7", extended_days=3, paused_days=2), [], LIBRARY,
                              now)
    assert review == [StepSpec("review", None, "SCJGJ", "staff:7", at(D(2026, 3, 3)), 13, D(2026, 3, 17),
                               D(2026, 4, 2))]
    joint = rules.open_steps(_case("in_review"), [SubFacts(1, "SCJGJ", "approved", None, None, 8),
                                                   SubFacts(2, "ZRZYJ", "in_review", D(2026, 3, 13), "staff:9", 8)],
                             LIBRARY, now)
    assert [(s.kind, s.sub_case_id, s.department_code, s.holder) for s in joint] == [
        ("review", None, "SCJGJ", None), ("department_review", 2, "ZRZYJ", "staff:9")]
    assert rules.open_steps(_case("approved", decided_at=at(D(2026, 3, 10)), due_date=D(2026, 3, 11)), [], LIBRARY,
                            now) == [StepSpec("deliver", None, "SCJGJ", None, at(D(2026, 3, 10)), 1, D(2026, 3, 11))]
    for final in ("delivered", "refused", "withdrawn", "draft"):
        assert rules.open_steps(_case(final), [], LIBRARY, now) == []


def test_how_long_a_suspension_may_last() -> None:
    procedures = [{"kind": "site_survey", "name": "", "limit": 10}, {"kind": "expert_review", "name": "专家论证",
                                                                    "limit": 15}, {"kind": "extension", "limit": 30}]
    names = {"site_survey": "现场踏勘", "expert_review": "专家评审"}
    assert rules.allowed_suspension("现场踏勘", procedures, 20, names) == 10
    assert rules.allowed_suspension("专家论证", procedures, 20, names) == 15
    assert rules.allowed_suspension("听证", procedures, 20, names) == 15  # the longest the item allows
    assert rules.allowed_suspension("听证", [], 20, names) == 20  # none: the configured default


def entry(n: int, what: str, actor: str = "staff:3", role: str = "clerk", when: dt.datetime | None = None,
          **after: object) -> Entry:
    return Entry(n, n, when or at(D(2026, 3, 2)), actor, role, what, "511902202603020000001", after, f"h{n}")


def test_irregularities_each_with_its_evidence() -> None:
    attempt = entry(1, "case.irregular_correction", materials=["house_deed"])
    found = rules.correction_outside_list(attempt)
    assert found is not None and (found.kind, found.person, found.evidence) == (
        "correction_outside_list", "staff:3", (attempt,))
    assert rules.correction_outside_list(entry(2, "case.request_correction", notice=1)) is None

    first, second = entry(2, "case.request_correction", notice=1), entry(5, "case.request_correction", notice=2)
    assert rules.repeated_correction(first, []) is None
    again = rules.repeated_correction(second, [first])
    assert again is not None and again.evidence == (first, second) and again.key == "2"

    accept = entry(6, "case.accept")
    incomplete = rules.accepted_incomplete(accept, ["id_card"])
    assert incomplete is not None and dict(incomplete.detail) == {"missing": ["id_card"]}
    assert rules.accepted_incomplete(accept, []) is None

    refusal = rules.refusal_without_reason(entry(7, "case.irregular_refusal", "staff:4", "approver", action="deny"))
    assert refusal is not None and refusal.person == "staff:4"

    deemed = rules.deemed_acceptance(entry(8, "case.deem_accepted", "system", "system", deemed_on="2026-03-09"))
    assert deemed is not None and deemed.person is None


def test_a_suspension_that_ended_too_late() -> None:
    suspend = entry(3, "case.suspend", "staff:5", "officer", procedure="现场踏勘")
    assert rules.overlong_stop(entry(9, "case.resume", "staff:5", "officer", stopped_days=10), suspend, 10) is None
    late = rules.overlong_stop(entry(9, "case.resume", "staff:5", "officer", stopped_days=11), suspend, 10)
    assert late is not None and late.key == "3" and dict(late.detail) == {"stopped_days": 11, "allowed_days": 10}


def test_a_decision_without_its_review() -> None:
    approve = entry(9, "case.approve", "staff:6", "approver")
    assert rules.skipped_step(approve, ["case.submit", "case.accept"]) is not None
    assert rules.skipped_step(approve, ["case.submit", "case.accept", "case.start_review"]) is None
    joined = entry(12, "case.approve", "system", "system", joint=True)
    assert rules.skipped_step(joined, ["case.sub_start_review", "case.sub_approve", "case.sub_approve"]) is not None
    assert rules.skipped_step(joined, ["case.sub_start_review", "case.sub_start_review", "case.sub_approve",
                                       "case.sub_approve"]) is None


def test_a_case_claimed_and_released_repeatedly() -> None:
    trail = [entry(1, "case.claim"), entry(2, "case.release"), entry(3, "case.claim"), entry(4, "case.release"),
             entry(5, "case.claim")]
    third = rules.repeated_claims(entry(6, "case.release"), trail, 3)
    assert third is not None and len(third.evidence) == 6
    assert rules.repeated_claims(entry(4, "case.release"), trail[:3], 3) is None  # the second release
    assert rules.repeated_claims(entry(8, "case.release"), [*trail, entry(6, "case.release"), entry(7, "case.claim")],
                                 3) is None  # the fourth: found once, at the third


@pytest.mark.parametrize(("when", "held", "expected"), [
    (at(D(2026, 3, 10), 10), True, False),  # a Tuesday morning
    (at(D(2026, 3, 10), 22), True, True),  # late at night
    (at(D(2026, 3, 14), 10), True, True),  # a Saturday
    (at(D(2026, 5, 9), 10), True, False),  # the worked Saturday after Labour Day
    (at(D(2026, 3, 10), 22), False, False),  # not a case they hold
])
def test_actions_outside_working_hours(when: dt.datetime, held: bool, expected: bool) -> None:
    e = entry(1, "case.comment", when=when)
    assert (rules.outside_hours(e, "08:30-17:30", LIBRARY, held) is not None) is expected
    assert rules.outside_hours(e, "", LIBRARY, held) is None  # off unless configured
