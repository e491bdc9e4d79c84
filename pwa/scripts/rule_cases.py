"""Writes tests/fixtures/rule-cases.json: random rules and answers with the result of the
server's evaluator (api/catalog/rules.py), so that the JS mirror (src/rules.js) is checked
against it. Run from the repository root after changing rules.py:

    .venv/bin/python pwa/scripts/rule_cases.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from api.catalog.rules import evaluate

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "rule-cases.json"
CODES = ["a", "b", "c"]
VALUES = ["x", "y", "", "2024-01-31", "2024-12-01", "10", 0, 1, 1.0, 2.5, -3, True, False, None,
          [], ["x"], ["x", "y"], [1, 2], {"k": 1}]


def leaf(rnd: random.Random) -> dict:
    op = rnd.choice(["eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "answered"])
    q = rnd.choice(CODES)
    if op == "in":
        return {"q": q, "in": rnd.sample(VALUES, rnd.randint(0, 3))}
    if op == "answered":
        return {"q": q, "answered": rnd.choice([True, False, 1, 0])}
    return {"q": q, op: rnd.choice(VALUES)}


def rule(rnd: random.Random, depth: int = 0) -> dict | None:
    r = rnd.random()
    if depth < 2 and r < 0.15:
        return {"all": [rule(rnd, depth + 1) for _ in range(rnd.randint(1, 3))]}
    if depth < 2 and r < 0.3:
        return {"any": [rule(rnd, depth + 1) for _ in range(rnd.randint(1, 3))]}
    if depth < 2 and r < 0.4:
        return {"not": rule(rnd, depth + 1)}
    if depth == 0 and r < 0.43:
        return None  # the rule that always holds (never nested: None inside all/any is invalid)
    return leaf(rnd)


def cases() -> list[dict]:
    rnd = random.Random(20261128)  # fixed: the same rules.py always gives the same file
    found = []
    for _ in range(1500):
        answers = {c: rnd.choice(VALUES) for c in CODES if rnd.random() < 0.8}
        r = rule(rnd)
        try:
            expected = evaluate(r, answers)
        except Exception:  # noqa: BLE001 - malformed combinations are not part of the language
            continue
        found.append({"rule": r, "answers": answers, "expected": expected})
    return found


def render(found: list[dict]) -> str:
    """The fixture's exact text (tests/test_rule_cases_fixture.py compares the committed file)."""
    return json.dumps(found, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> None:
    found = cases()
    OUT.write_text(render(found))
    print(f"wrote {len(found)} cases to {OUT}")


if __name__ == "__main__":
    main()
