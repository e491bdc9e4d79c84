"""The PWA's rule parity cases (pwa/tests/fixtures/rule-cases.json) hold the server evaluator's
answers: after a change of api/catalog/rules.py a stale file would check src/rules.js against the
old rules, so the committed file must equal what the generator writes today."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "pwa" / "scripts" / "rule_cases.py"
FIXTURE = ROOT / "pwa" / "tests" / "fixtures" / "rule-cases.json"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rule_cases", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_rule_cases_are_what_the_generator_writes() -> None:
    generator = _generator()
    assert generator.OUT == FIXTURE  # the file the PWA tests read is the one the script writes
    fresh = generator.render(generator.cases())
    committed = FIXTURE.read_text(encoding="utf-8")
    if committed != fresh:
        stale = sum(a != b for a, b in zip(json.loads(committed), json.loads(fresh), strict=False))
        raise AssertionError(
            f"{FIXTURE.relative_to(ROOT)} is stale (cases differing from api/catalog/rules.py's answers: {stale}); "
            "regenerate it from the repository root with: .venv/bin/python pwa/scripts/rule_cases.py"
        )


def test_the_cases_cover_both_answers_and_nested_rules() -> None:
    cases = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert len(cases) > 1000
    assert {c["expected"] for c in cases} == {True, False}
    assert any(c["rule"] and ("all" in c["rule"] or "any" in c["rule"]) for c in cases)
