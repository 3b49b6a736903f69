"""The composition root: settings in, a wired-up Drumbeat out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.metrics import Metrics
from bot.routing import ChatRouter
from bot.settings import Settings
from rhythm.chart_links import ChartLinks
from rhythm.ports import ChatGateway, Clock, Store, SystemClock
from rhythm.service import Drumbeat
from storage import open_store
from storage.migrate import upgrade
from storage.store import SqlStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: SqlStore
    drumbeat: Drumbeat
    chat: ChatRouter
    chart_links: ChartLinks  # where Teams shows the charts too big for a card, and /charts/
    metrics: Metrics  # GET /metrics


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[SqlStore]:
    """The store; an embedded SQLite database is created and migrated on the spot."""
    if settings.is_sqlite:
        await upgrade(settings.database_url)
    async with open_store(settings.database_url) as store:
        yield store


def chat_gateways(
    settings: Settings,
    console: Console,
    store: Store,
    links: ChartLinks | None = None,
    metrics: Metrics | None = None,
) -> dict[str, ChatGateway]:
    """The console, plus Slack and Teams when configured. Their SDKs are imported only then."""
    platform = settings.slack_configured or settings.teams_configured or settings.teams_local
    # With a chat platform, the console only gets what no platform took (a channel the OKR
    # file names that is not in the workspace): one line each, not a whole digest in the log.
    terminal = ConsoleGateway(console=console, show_post=lambda channel, message: not platform)
    gateways: dict[str, ChatGateway] = {"console": terminal}
    if settings.slack_configured:
        from bot.slack.plugin import slack_gateway

        gateways["slack"] = slack_gateway(
            settings, store, calls=metrics.calls("slack") if metrics else None
        )
    if settings.teams_configured or settings.teams_local:
        from bot.teams.plugin import teams_gateway

        gateways["teams"] = teams_gateway(
            settings, store, chart_links=links, calls=metrics.calls("teams") if metrics else None
        )
    return gateways


def default_platform(gateways: dict[str, ChatGateway]) -> str:
    """Where a person with no chat id goes: the platform looks them up by email."""
    return next((p for p in ("slack", "teams") if p in gateways), "console")


@asynccontextmanager
async def runtime(
    settings: Settings,
    *,
    console: Console | None = None,
    gateways: dict[str, ChatGateway] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Runtime]:
    console = console or Console(stderr=True)
    clock = clock or SystemClock()
    async with open_database(settings) as store:
        # Links at the server's public address (PUBLIC_URL, or this machine's in local mode);
        # without one, a chart too big for a Teams card shows as its alt text.
        links = ChartLinks(store=store, clock=clock, public_url=settings.public_base_url)
        metrics = Metrics(pool=store.engine.sync_engine.pool)
        gateways = gateways or chat_gateways(settings, console, store, links, metrics)
        router = ChatRouter(gateways=gateways, fallback=default_platform(gateways), metrics=metrics)
        drumbeat = Drumbeat(
            store=store,
            chat=router,
            clock=clock,
            worker=settings.worker_id,
            lease=timedelta(seconds=settings.claim_lease_seconds),
            observer=metrics.observer(router.platform_of),
        )
        async with drumbeat.charts:  # its drawing processes end with the runtime
            yield Runtime(settings, store, drumbeat, router, links, metrics=metrics)
