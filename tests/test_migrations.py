"""Alembic owns the schema: the migrated database must equal what the Tortoise models expect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.core.db import migrate
from tests.databases import fresh_database
from tests.schema_drift import generate_reference, schema_diff


async def test_migrated_schema_equals_the_models(backend: str, tmp_path: Path) -> None:
    async with (
        fresh_database(backend, tmp_path) as migrated,
        fresh_database(backend, tmp_path, migrated=False) as reference,
    ):
        await generate_reference(reference)
        assert await schema_diff(migrated, reference) == []


async def test_the_comparison_notices_a_schema_that_lags_behind(backend: str, tmp_path: Path) -> None:
    """Proof that the test above can fail: a database at the base revision differs from the models."""
    async with (
        fresh_database(backend, tmp_path, migrated=False) as behind,
        fresh_database(backend, tmp_path, migrated=False) as reference,
    ):
        await asyncio.to_thread(migrate, behind, "base")
        await generate_reference(reference)
        diff = await schema_diff(behind, reference)
        assert {d[0] for d in diff} >= {"add_table"}
        assert any(d[0] == "missing_fk" for d in diff)


@pytest.mark.parametrize("direction", ["downgrade then upgrade"])
async def test_downgrade_and_upgrade_again(backend: str, tmp_path: Path, direction: str) -> None:
    from alembic import command
    from api.core.db import alembic_config

    async with fresh_database(backend, tmp_path) as url:
        await asyncio.to_thread(command.downgrade, alembic_config(url), "base")
        await asyncio.to_thread(migrate, url)
        async with fresh_database(backend, tmp_path, migrated=False) as reference:
            await generate_reference(reference)
            assert await schema_diff(url, reference) == []
