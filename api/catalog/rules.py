"""Answer rules: the tiny condition language of situations, conditional materials and questions.

Pure functions, no HTTP and no ORM. A rule is JSON:

    {"q": "applicant", "eq": "company"}          the answer equals a value
    {"q": "change", "in": ["name", "address"]}   the answer is one of the values
    {"q": "area", "gte": 150}                    also "gt", "lt", "lte", "ne" (numbers and ISO dates)
    {"q": "items", "contains": "food"}           a multi-choice answer includes the value
    {"q": "agent", "answered": true}             the question was (not) answered
    {"all": [rule, ...]}, {"any": [rule, ...]}, {"not": rule}

``None`` is the rule that always holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Rule = dict[str, Any]
Answers = Mapping[str, Any]

_COMPARISONS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "answered")


class RuleError(ValueError):
    """A rule that is not well formed (caught when a catalog is validated or imported)."""


def evaluate(rule: Rule | None, answers: Answers) -> bool:
    if rule is None:
        return True
    if "all" in rule:
        return all(evaluate(r, answers) for r in rule["all"])
    if "any" in rule:
        return any(evaluate(r, answers) for r in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], answers)
    code = rule["q"]
    present = code in answers and answers[code] not in (None, "", [])
    if "answered" in rule:
        return present is bool(rule["answered"])
    if not present:
        return False
    value = answers[code]
    if "eq" in rule:
        return value == rule["eq"]
    if "ne" in rule:
        return value != rule["ne"]
    if "in" in rule:
        return value in rule["in"]
    if "contains" in rule:
        return isinstance(value, list) and rule["contains"] in value
    try:
        if "gt" in rule:
            return value > rule["gt"]
        if "gte" in rule:
            return value >= rule["gte"]
        if "lt" in rule:
            return value < rule["lt"]
        if "lte" in rule:
            return value <= rule["lte"]
    except TypeError:
        return False
    raise RuleError(f"unknown comparison in rule {rule!r}")


def check(rule: Rule | None, question_codes: set[str]) -> list[str]:
    """Problems with a rule's shape, and references to questions that do not exist."""
    if rule is None:
        return []
    # Messages are for administrators fixing a catalog: Chinese, naming the offending part.
    if not isinstance(rule, dict):
        return [f"规则必须是 JSON 对象，实际为 {rule!r}"]
    for key in ("all", "any"):
        if key in rule:
            parts = rule[key]
            if not isinstance(parts, list) or not parts:
                return [f"规则中的“{key}”需要一个非空列表"]
            return [p for r in parts for p in check(r, question_codes)]
    if "not" in rule:
        return check(rule["not"], question_codes)
    if "q" not in rule:
        return [f"规则需要包含 q、all、any 或 not 之一：{rule!r}"]
    problems = []
    if rule["q"] not in question_codes:
        problems.append(f"规则引用了不存在的问题“{rule['q']}”")
    ops = [k for k in rule if k != "q"]
    if len(ops) != 1 or ops[0] not in _COMPARISONS:
        problems.append(f"规则必须且只能包含一种比较（{'、'.join(_COMPARISONS)}）：{rule!r}")
    elif ops[0] == "in" and not isinstance(rule["in"], list):
        problems.append(f"“in” 需要一个列表：{rule!r}")
    return problems


def clauses(rule: Rule | None) -> Iterator[Rule]:
    """The leaf comparisons of a rule (used to explain why a material is needed)."""
    if rule is None:
        return
    for key in ("all", "any"):
        if key in rule:
            for r in rule[key]:
                yield from clauses(r)
            return
    if "not" in rule:
        yield from clauses(rule["not"])
        return
    yield rule


def referenced_values(rule: Rule | None, code: str) -> list[Any]:
    """Values a rule compares question ``code`` against (thresholds for validation sampling)."""
    out: list[Any] = []
    for leaf in clauses(rule):
        if leaf.get("q") != code:
            continue
        for op in ("eq", "ne", "gt", "gte", "lt", "lte", "contains"):
            if op in leaf:
                out.append(leaf[op])
        if "in" in leaf:
            out.extend(leaf["in"])
    return out
