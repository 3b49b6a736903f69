"""Schema migrations: Alembic configured in code, scripts shipped in storage/migrations.

await upgrade(url)          # from async code (the app at start-up, tests)
upgrade_blocking(url)       # from sync code (a CLI command)
python -m storage.migrate upgrade [URL]
python -m storage.migrate revision "add a column" [URL]   # autogenerate, DB must be at head
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from storage.engine import WRITE_TRANSACTION, create_engine, normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")

# Any fixed number: the PostgreSQL advisory lock that makes replicas starting together
# migrate one after the other instead of racing on CREATE TABLE.
MIGRATION_LOCK = 0x0D7B_EA70


def alembic_config(url: str | URL | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    rendered = normalise_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))  # configparser
    return config


async def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Bring the database at `url` (default: the SQLite file) up to `revision`, in one
    transaction that holds the write lock (SQLite) or an advisory lock (PostgreSQL)."""
    engine = create_engine(url)
    try:
        async with engine.execution_options(**{WRITE_TRANSACTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await conn.run_sync(_upgrade_on, url, revision)
    finally:
        await engine.dispose()


def upgrade_blocking(url: str | URL | None = None, revision: str = "head") -> None:
    """`upgrade` for callers without an event loop."""
    asyncio.run(upgrade(url, revision))


def _upgrade_on(connection: Connection, url: str | URL | None, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def main(argv: list[str]) -> int:
    usage = "usage: python -m storage.migrate upgrade [URL] | revision MESSAGE [URL]"
    if argv[:1] == ["upgrade"] and len(argv) <= 2:
        upgrade_blocking(argv[1] if len(argv) == 2 else None)
        return 0
    if argv[:1] == ["revision"] and 2 <= len(argv) <= 3:
        config = alembic_config(argv[2] if len(argv) == 3 else None)
        command.revision(config, message=argv[1], autogenerate=True)
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
