"""`Drumbeat`: the core behind one object, as the composition root builds it.

Each job is a use case of its own (`rhythm.orgcache`, `people`, `checkin`, `digests`,
`reports`, `ticking`); this facade only wires them to one store, one chat gateway and one
clock, so the scheduler, the CLI, the console, Slack and Teams all drive the very same code.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rhythm.blockers import Blockers
from rhythm.buttons import Buttons
from rhythm.checkin import CheckInSession
from rhythm.courier import Courier
from rhythm.digests import Digests
from rhythm.nudges import Nudges
from rhythm.observe import NULL_OBSERVER, Observer
from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.people import People
from rhythm.ports import ChatGateway, Clock, Store
from rhythm.preferences import Preferences
from rhythm.rendering import ChartRenderer
from rhythm.reports import Reports
from rhythm.submissions import Submissions
from rhythm.ticking import LEASE, Ticker, TickReport
from rhythm.values import Values


class Drumbeat:
    def __init__(
        self,
        *,
        store: Store,
        chat: ChatGateway,
        clock: Clock,
        worker: str = "drumbeat",
        batch: int = 200,
        concurrency: int = 16,
        lease: timedelta = LEASE,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self.store = store  # for the core's own commands; adapters use the parts below
        self.clock = clock
        self.orgs = Organisations(store=store)
        self.people = People(store=store, orgs=self.orgs, chat=chat, clock=clock)
        self.digests = Digests(store=store, orgs=self.orgs, clock=clock)
        self.charts = ChartRenderer()
        self.reports = Reports(store=store, orgs=self.orgs, clock=clock, charts=self.charts)
        self.checkins = CheckInSession(
            store=store, orgs=self.orgs, people=self.people, chat=chat, clock=clock
        )
        self.courier = Courier(
            store=store, orgs=self.orgs, chat=chat, clock=clock, worker=worker, lease=lease
        )
        self.blockers = Blockers(
            store=store, orgs=self.orgs, people=self.people, clock=clock, courier=self.courier
        )
        self.nudges = Nudges(
            store=store, orgs=self.orgs, people=self.people, clock=clock, courier=self.courier
        )
        self.preferences = Preferences(store=store, people=self.people)
        self.values = Values(store=store, orgs=self.orgs, clock=clock)
        self.submissions = Submissions(
            checkins=self.checkins, blockers=self.blockers, preferences=self.preferences,
            observer=observer,
        )  # fmt: skip
        self.buttons = Buttons(blockers=self.blockers, nudges=self.nudges, checkins=self.checkins)
        self.ticker = Ticker(
            store=store, orgs=self.orgs, chat=chat, clock=clock, digests=self.digests,
            reports=self.reports, blockers=self.blockers, nudges=self.nudges,
            courier=self.courier,
            worker=worker, batch=batch, concurrency=concurrency, lease=lease, observer=observer,
        )  # fmt: skip

    async def organisation(self, key: str) -> Organisation:
        return await self.orgs.get(key)

    async def tick(self, now: datetime | None = None) -> TickReport:
        return await self.ticker.tick(now)


__all__ = ["Drumbeat", "TickReport"]
