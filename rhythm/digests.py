"""Digest queries: a team's digest for a period, as it stands at a moment."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from rhythm.cadences import RhythmKind, period_bounds, period_of, previous_period
from rhythm.digest import build_digest, scope_key_results, scope_people
from rhythm.digest_model import Digest, DigestScope
from rhythm.errors import UnknownTeam
from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.ports import Clock, Store


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
        facts = await self.store.digest_facts(
            org.key,
            kind=kind,
            period=scope.period,
            previous=scope.previous_period,
            key_results=[kr.key for kr in scope_key_results(org, found.key, cycle.key)],
            people=scope_people(org, found.key),
            teams=org.subtree(found.key),
            now=now,
        )
        return build_digest(org, scope, facts, now=now)


def _scope(org: Organisation, team: str, kind: RhythmKind, today: date, cycle: str) -> DigestScope:
    period = period_of(kind, today, cycle)
    previous = previous_period(kind, today) if kind is not RhythmKind.END_OF_CYCLE else ""
    found = org.cycle.get(cycle)
    days = period_bounds(kind, today, (found.start, found.end) if found else None)
    return DigestScope(team, kind, period, previous, cycle, today, days)
