"""Digest queries: a team's digest for a period, as it stands at a moment."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rhythm.blocker_lines import with_blockers
from rhythm.blockers import team_blockers
from rhythm.cadences import RhythmKind, period_bounds, period_of, previous_period
from rhythm.calibration import Calibration
from rhythm.digest import build_digest, scope_key_results, scope_people
from rhythm.digest_model import Digest, DigestScope
from rhythm.errors import CommandError, UnknownTeam
from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.ports import Clock, Store
from rhythm.reviews import owner_calibration, team_calibration, with_rhythm_health
from rhythm.trends import cycle_window


class Digests:
    def __init__(self, *, store: Store, orgs: Organisations, clock: Clock) -> None:
        self.store = store
        self.orgs = orgs
        self.clock = clock

    async def digest(
        self,
        org_key: str,
        team: str,
        *,
        kind: RhythmKind = RhythmKind.WEEKLY,
        at: datetime | None = None,
        period_at: datetime | None = None,
    ) -> Digest:
        """The digest of `team` (key or name) as it stands at `at` (default now), for the
        period containing `period_at` (default `at`)."""
        org = await self.orgs.get(org_key)
        found = org.find_team(team)
        if found is None:
            raise UnknownTeam(team, (t.key for t in org.teams))
        now = at or self.clock.now()
        today = (period_at or now).astimezone(ZoneInfo(found.timezone)).date()
        cycle = org.current_cycle(today)
        scope = _scope(org, found.key, kind, today, cycle.key)
        key_results = [kr.key for kr in scope_key_results(org, found.key, cycle.key)]
        tz = ZoneInfo(found.timezone)
        period_start = datetime.combine(scope.period_days[0], time(), tz)
        period_end = datetime.combine(scope.period_days[1] + timedelta(days=1), time(), tz)
        facts = await self.store.digest_facts(
            org.key,
            kind=kind,
            period=scope.period,
            previous=scope.previous_period,
            key_results=key_results,
            people=scope_people(org, found.key),
            teams=org.subtree(found.key),
            now=now,
            window=(period_start, period_end),  # the period's automatic updates
        )
        tracked = await team_blockers(self.store, org, found.key, key_results, since=period_start)
        if kind is RhythmKind.DAILY:  # a daily pulse updates no key result: no forecast
            return with_blockers(org, build_digest(org, scope, facts, now=now), tracked, now)
        since, _ = cycle_window(cycle, tz)
        series = await self.store.kr_series(org.key, key_results, since=since, until=now)
        digest = build_digest(org, scope, facts, now=now, series=series)
        digest = with_blockers(org, digest, tracked, now)
        if kind is RhythmKind.MONTHLY:
            cells = await self.store.ritual_attendance(
                org.key, org.subtree(found.key), since=since, until=now
            )
            digest = with_rhythm_health(org, digest, cells, cycle, today)
        elif kind is RhythmKind.END_OF_CYCLE:
            digest = team_calibration(org, digest, series, tz)
        return digest

    async def owner_calibration(self, org_key: str, team: str, who: str) -> list[Calibration]:
        """Each owner's calibration in `team`'s subtree over its cycle so far, for `who`, who
        must be one of the team's leads (or an admin): never shown to anyone else."""
        org = await self.orgs.get(org_key)
        found = org.find_team(team)
        if found is None:
            raise UnknownTeam(team, (t.key for t in org.teams))
        if not org.leads_or_admin(who, found.key):
            raise CommandError(f"Only {found.name}'s leads see how its owners' confidence held up.")
        now = self.clock.now()
        tz = ZoneInfo(found.timezone)
        digest = await self.digest(org.key, found.key, kind=RhythmKind.END_OF_CYCLE, at=now)
        cycle = org.current_cycle(now.astimezone(tz).date())
        since, _ = cycle_window(cycle, tz)
        keys = [k.key for o in digest.objectives for k in o.key_results]
        series = await self.store.kr_series(org.key, keys, since=since, until=now)
        return owner_calibration(org, digest, series, tz)


def _scope(org: Organisation, team: str, kind: RhythmKind, today: date, cycle: str) -> DigestScope:
    period = period_of(kind, today, cycle)
    previous = previous_period(kind, today) if kind is not RhythmKind.END_OF_CYCLE else ""
    found = org.cycle.get(cycle)
    days = period_bounds(kind, today, (found.start, found.end) if found else None)
    return DigestScope(team, kind, period, previous, cycle, today, days)
