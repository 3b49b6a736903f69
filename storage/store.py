"""`SqlStore`: every repository port over one engine, as the composition root injects it."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.api_tokens import SqlApiTokenRepository
from storage.auto_updates import SqlAutoUpdateRepository
from storage.blockers import SqlBlockerRepository
from storage.charts import SqlChartRepository
from storage.checkins import SqlCheckInRepository
from storage.conversations import SqlConversationRepository, SqlDraftRepository
from storage.db import Database
from storage.digests import SqlDigestRepository
from storage.engine import WRITE_TRANSACTION, create_engine, ping
from storage.exports import SqlExportRepository
from storage.history import SqlHistoryRepository
from storage.organisations import SqlOrgRepository
from storage.outbox import SqlOutboxRepository
from storage.people import SqlPeopleRepository
from storage.privacy import SqlPrivacyRepository
from storage.prompts import SqlPromptRepository
from storage.series import SqlSeriesRepository
from storage.settings import SqlSettingsRepository
from storage.subscriptions import SqlSubscriptionRepository
from storage.workspaces import SqlWorkspaceRepository

if TYPE_CHECKING:
    from rhythm.ports import PrivacyRepository, Store

log = logging.getLogger(__name__)


class SqlStore(
    SqlOrgRepository,
    SqlPromptRepository,
    SqlCheckInRepository,
    SqlDigestRepository,
    SqlPeopleRepository,
    SqlSubscriptionRepository,
    SqlWorkspaceRepository,
    SqlConversationRepository,
    SqlDraftRepository,
    SqlSeriesRepository,
    SqlChartRepository,
    SqlBlockerRepository,
    SqlOutboxRepository,
    SqlSettingsRepository,
    SqlHistoryRepository,
    SqlExportRepository,
    SqlPrivacyRepository,
    SqlApiTokenRepository,
    SqlAutoUpdateRepository,
):
    """Implements `rhythm.ports.Store` on SQLite or PostgreSQL.

    Give it an engine from `storage.engine.create_engine`; with `owns_engine` (as `open_store`
    does) `aclose` disposes of the engine too. The schema must exist: run
    `storage.migrate.upgrade` first.
    """

    def __init__(self, *, engine: AsyncEngine, owns_engine: bool = False) -> None:
        super().__init__(db=Database(engine=engine))
        self._owns_engine = owns_engine

    @property
    def engine(self) -> AsyncEngine:
        return self._db.engine

    @property
    def shared_engine(self) -> AsyncEngine:
        """The engine for other libraries' stores in our database (slack_sdk's OAuth
        installations and states): on SQLite every transaction of theirs takes the write lock
        at BEGIN, so a store that reads then writes waits its turn (busy_timeout) instead of
        failing with "database is locked" when a tick writes at the same moment."""
        return self._db.engine.execution_options(**{WRITE_TRANSACTION: True})

    async def ping(self) -> bool:
        """Readiness: whether the database answers a trivial query."""
        try:
            await ping(self._db.engine)
        except (SQLAlchemyError, OSError) as error:
            log.warning("database unreachable: %s", error)
            return False
        return True

    async def aclose(self) -> None:
        if self._owns_engine:
            await self._db.engine.dispose()

    async def __aenter__(self) -> SqlStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def open_store(url: str | URL | None = None) -> SqlStore:
    """A store with its own engine for `url` (default: the SQLite file drumbeat.db).
    Use as `async with open_store(url) as store:` or call `await store.aclose()` at the end."""
    return SqlStore(engine=create_engine(url), owns_engine=True)


if TYPE_CHECKING:

    def _implements_the_port(store: SqlStore) -> Store:
        return store  # mypy reports it here when SqlStore drifts from rhythm.ports.Store

    def _implements_privacy(store: SqlStore) -> PrivacyRepository:
        return store
