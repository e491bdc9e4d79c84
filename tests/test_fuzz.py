"""Generated input, valid and invalid, against every operation of the OpenAPI schema: the server
answers each with a 2xx or a clear 4xx, never a 5xx (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.processes import running_server, sqlite_env, zhengwu


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var: Path = tmp_path_factory.mktemp("fuzz")
    env = sqlite_env(var)
    assert zhengwu("migrate", env=env).returncode == 0
    assert zhengwu("seed", "--demo", env=env).returncode == 0
    with running_server(env, var / "serve.log") as base:
        yield base


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_input_makes_the_server_fail(live: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{live}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    exercised: list[str] = []
    for operation in operations:
        has_input = bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))
        if mode is GenerationMode.NEGATIVE and not has_input:
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=live, timeout=10)
            where = f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
            assert response.status_code < 500, where
            if response.status_code >= 400:
                body = response.json()
                assert body["message"] and body["detail"], where

        try:
            call()
        except Unsatisfiable:
            # A lone free-text path parameter has no invalid form; everything else must be tried.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        exercised.append(operation.label)
    assert len(exercised) >= (10 if mode is GenerationMode.POSITIVE else 3), exercised
