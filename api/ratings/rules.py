"""The rules of a rating, pure (no ORM, no HTTP): the five levels (GB/T 39046 A.8 codes), the
standard reason categories, what a rating must carry, the rectification's steps, and what the public
figures count.

Levels: 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意. A 差评 is 4 or 5 (GB/T 39734; the
Zhejiang and Sichuan practice): it needs at least one reason from the bad-rating categories and a
few words, and opens a rectification owned by whoever served (谁办理、谁负责)."""

from __future__ import annotations

from dataclasses import dataclass

from api.core.errors import Conflict, RuleViolation

LEVELS: dict[int, tuple[str, str]] = {
    1: ("非常满意", "very satisfied"), 2: ("满意", "satisfied"), 3: ("基本满意", "fairly satisfied"),
    4: ("不满意", "dissatisfied"), 5: ("非常不满意", "very dissatisfied"),
}
BAD = frozenset({4, 5})
#: Counted as satisfied in the public figures (满意率: 非常满意 + 满意 + 基本满意).
SATISFIED = frozenset({1, 2, 3})

#: Why a rating is bad: the categories of GB/T 39734 Annex A's 差评评价内容 as the provincial
#: systems show them (the same set for every hall and platform: it may not be changed locally).
BAD_REASONS: dict[str, tuple[str, str]] = {
    "guide": ("办事指南不准确、不清楚", "the guide was wrong or unclear"),
    "process": ("办事流程繁琐", "too many steps"),
    "time": ("办理时间过长或超时", "it took too long"),
    "repeat": ("多次跑动、重复提交材料", "more trips or documents than needed"),
    "attitude": ("服务态度差", "unfriendly service"),
    "skill": ("工作人员业务不熟练", "staff did not know the matter"),
    "platform": ("平台操作不便或故障", "the app or site was hard to use or broken"),
    "fee": ("收费不规范", "improper fees"),
    "other": ("其他问题", "something else"),
}
GOOD_REASONS: dict[str, tuple[str, str]] = {
    "fast": ("办事效率高", "quick"),
    "friendly": ("服务态度好", "friendly service"),
    "clear": ("办事指南清晰", "a clear guide"),
    "once": ("一次办成", "done in one go"),
    "easy": ("操作便捷", "easy to use"),
}
TEXT_MAX = 500


@dataclass(frozen=True, slots=True)
class Judgement:
    level: int
    reasons: list[str]
    text: str

    @property
    def bad(self) -> bool:
        return self.level in BAD


def check(level: object, reasons: object, text: object) -> Judgement:
    """A rating's content, checked: a level of 1–5; reasons from that level's categories (at least
    one, and a few words, for a bad one); text of at most 500 characters."""
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise RuleViolation("评价等级应为 1（非常满意）到 5（非常不满意）", "level must be an integer from 1 to 5",
                            "level")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise RuleViolation("评价原因格式不正确", "reasons must be a list of codes", "reasons")
    allowed = BAD_REASONS if level in BAD else GOOD_REASONS
    unknown = [r for r in reasons if r not in allowed]
    if unknown:
        raise RuleViolation(f"这个等级没有这些评价原因：{'、'.join(unknown)}", f"not reasons of level {level}: "
                            f"{', '.join(unknown)}", "reasons")
    words = text.strip() if isinstance(text, str) else None
    if words is None or len(words) > TEXT_MAX:
        raise RuleViolation(f"评价内容最多 {TEXT_MAX} 字", f"text must be at most {TEXT_MAX} characters", "text")
    if level in BAD:
        if not reasons:
            raise RuleViolation("不满意的评价请至少选择一项原因", "a bad rating needs at least one reason", "reasons")
        if len(words) < 2:
            raise RuleViolation("不满意的评价请写明具体问题，便于整改", "a bad rating needs a few words", "text")
    return Judgement(level, list(dict.fromkeys(reasons)), words)


# --------------------------------------------------------------------------- rectification

VERIFYING, RECTIFYING, AWAITING, CLOSED = "verifying", "rectifying", "awaiting_rater", "closed"
STATE_NAMES = {VERIFYING: "待核实", RECTIFYING: "整改中", AWAITING: "待评价人确认", CLOSED: "已办结"}
STEP_NAMES = {"verify": "核实", "rectify": "整改", "callback": "回访", "accept": "评价人认可",
              "contest": "评价人不认可", "close": "办结"}
#: (state, step) → the state after it. ``verify`` of a rating found unfounded goes straight to the
#: callback (explained: 解释说明); a contest reopens the rectification once.
MOVES: dict[tuple[str, str], str] = {
    (VERIFYING, "verify"): RECTIFYING,
    (RECTIFYING, "rectify"): RECTIFYING,
    (RECTIFYING, "callback"): AWAITING,
    (AWAITING, "accept"): CLOSED,
    (AWAITING, "contest"): RECTIFYING,
}


def move(state: str, step: str) -> str:
    """The state after ``step``, or Conflict naming what the rectification waits for."""
    to = MOVES.get((state, step))
    if to is None:
        waiting = {VERIFYING: "核实", RECTIFYING: "整改和回访", AWAITING: "评价人确认", CLOSED: "（已办结）"}[state]
        raise Conflict(f"这项差评整改现在{STATE_NAMES[state]}，应先完成：{waiting}",
                       f"rectification is {state}; {step} is not possible now", "state")
    return to


def shares(counts: dict[int, int]) -> dict[str, object]:
    """The public figures from the number of ratings per level: how many, the share satisfied
    (None when there are none), and per level."""
    count = sum(counts.values())
    satisfied = sum(n for level, n in counts.items() if level in SATISFIED)
    return {"count": count, "satisfied_share": round(satisfied / count, 4) if count else None,
            "by_level": {str(level): counts.get(level, 0) for level in LEVELS}}
