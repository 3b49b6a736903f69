"""The migration builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.migrate import alembic_config, upgrade
from storage.tables import metadata
from tests.databases import Backend


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


# Migration 0003 creates slack_sdk's OAuth tables: slack_sdk owns their shape (checked in
# tests/bot/slack/test_oauth.py), our models do not describe them.
SLACK_TABLES = {"slack_installations", "slack_bots", "slack_oauth_states"}


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name in SLACK_TABLES)


def differences(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": ours})
    return list(compare_metadata(context, metadata))


async def test_upgrade_builds_the_models_schema(backend: Backend, tmp_path: Path) -> None:
    url = await backend.new_database(tmp_path, migrated=False)
    try:
        await upgrade(url)
        await upgrade(url)  # at head already: nothing to do, no error

        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                assert await conn.run_sync(differences) == []
                tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
                version = await conn.execute(text("SELECT version_num FROM alembic_version"))
                assert version.scalar_one() == head_revision()
        finally:
            await engine.dispose()
        assert tables == set(metadata.tables) | {"alembic_version"} | SLACK_TABLES
    finally:
        await backend.drop_database(url)


async def test_the_comparison_sees_a_missing_index(backend: Backend, tmp_path: Path) -> None:
    """The test above could pass by comparing nothing: show that a drift is reported."""
    url = await backend.new_database(tmp_path, migrated=False)
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP INDEX ix_kr_update_period"))
                diffs = await conn.run_sync(differences)
        finally:
            await engine.dispose()
        assert [d[0] for d in diffs] == ["add_index"]  # type: ignore[index]
    finally:
        await backend.drop_database(url)
