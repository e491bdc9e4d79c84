"""The answer-rule language behind situations, conditional materials and follow-up questions."""

import pytest

from api.catalog import rules


@pytest.mark.parametrize(
    ("rule", "answers", "expected"),
    [
        (None, {}, True),
        ({"q": "a", "eq": "x"}, {"a": "x"}, True),
        ({"q": "a", "eq": "x"}, {"a": "y"}, False),
        ({"q": "a", "eq": "x"}, {}, False),
        ({"q": "a", "ne": "x"}, {"a": "y"}, True),
        ({"q": "a", "ne": "x"}, {}, False),
        ({"q": "a", "in": ["x", "y"]}, {"a": "y"}, True),
        ({"q": "n", "gte": 150}, {"n": 150}, True),
        ({"q": "n", "gt": 150}, {"n": 150}, False),
        ({"q": "n", "lt": 150}, {"n": 149.5}, True),
        ({"q": "n", "lte": 150}, {"n": 151}, False),
        ({"q": "d", "gte": "2026-01-01"}, {"d": "2026-03-01"}, True),
        ({"q": "m", "contains": "food"}, {"m": ["drink", "food"]}, True),
        ({"q": "m", "contains": "food"}, {"m": []}, False),
        ({"q": "a", "answered": True}, {"a": "x"}, True),
        ({"q": "a", "answered": False}, {}, True),
        ({"all": [{"q": "a", "eq": "x"}, {"q": "n", "gte": 3}]}, {"a": "x", "n": 2}, False),
        ({"any": [{"q": "a", "eq": "x"}, {"q": "n", "gte": 3}]}, {"a": "y", "n": 3}, True),
        ({"not": {"q": "a", "eq": "x"}}, {"a": "y"}, True),
        ({"q": "n", "gte": 3}, {"n": "three"}, False),  # a wrong type never matches, never crashes
    ],
)
def test_evaluate(rule: dict | None, answers: dict, expected: bool) -> None:
    assert rules.evaluate(rule, answers) is expected


def test_check_reports_unknown_questions_and_bad_shapes() -> None:
    assert rules.check({"q": "a", "eq": 1}, {"a"}) == []
    assert "不存在的问题“b”" in rules.check({"q": "b", "eq": 1}, {"a"})[0]
    assert rules.check({"q": "a", "eq": 1, "gt": 2}, {"a"})
    assert rules.check({"q": "a", "between": [1, 2]}, {"a"})
    assert rules.check({"all": []}, {"a"})
    assert rules.check({"q": "a", "in": "x"}, {"a"})
    assert rules.check("nonsense", {"a"})  # type: ignore[arg-type]


def test_clauses_and_referenced_values_walk_nested_rules() -> None:
    rule = {"all": [{"q": "a", "eq": "x"}, {"not": {"q": "n", "gte": 3}}, {"q": "a", "in": ["y", "z"]}]}
    assert [c["q"] for c in rules.clauses(rule)] == ["a", "n", "a"]
    assert rules.referenced_values(rule, "a") == ["x", "y", "z"]
    assert rules.referenced_values(rule, "n") == [3]
