"""Alembic environment for Drumbeat, configured in code by `storage.migrate` (no alembic.ini).

`storage.migrate.upgrade` opens the async connection itself and hands its sync face in
`config.attributes["connection"]` (Alembic's "connection sharing" recipe); without one, as for
`python -m storage.migrate revision`, this file opens an async engine on the configured URL and
runs Alembic through `AsyncConnection.run_sync`.
"""

from __future__ import annotations

import asyncio

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from storage.columns import UTCDateTime
from storage.engine import create_engine
from storage.tables import metadata

config = context.config


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | bool:
    """Autogenerate writes plain SQLAlchemy types, so migrations never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        render_item=_render_item,
        render_as_batch=True,  # SQLite alters tables by copying them; harmless on PostgreSQL
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    run_on(shared)
else:
    asyncio.run(run_with_own_engine())
