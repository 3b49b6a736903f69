"""Reports with their charts: digests as sections, a key result's trend, forecasts on demand.

Charts are drawn off the event loop by `ChartRenderer`; what they show comes from the
database on every call (`rhythm.trends` over the series), so every replica draws the same.
This is also the core's forecast API for any adapter: `forecasts` for a set of key results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from rhythm.digest_model import Digest
from rhythm.digest_report import digest_report
from rhythm.errors import CommandError
from rhythm.forecast import Forecast, forecast_key_result
from rhythm.markup import code, literal
from rhythm.okr import Cycle, KeyResult, Organisation
from rhythm.orgcache import Organisations
from rhythm.ports import Clock, Store
from rhythm.rendering import ChartRenderer
from rhythm.sections import Line, Report, Section, Tone
from rhythm.spelling import closest
from rhythm.trends import cycle_window, kr_chart


class Reports:
    def __init__(
        self, *, store: Store, orgs: Organisations, clock: Clock, charts: ChartRenderer
    ) -> None:
        self.store, self.orgs, self.clock, self.charts = store, orgs, clock, charts

    async def digest(self, digest: Digest) -> Report:
        """`digest` as a report, its charts drawn (together, off the event loop)."""
        specs = [s for s in (digest.chart, digest.health) if s is not None]
        images = await asyncio.gather(*(self.charts.render(s) for s in specs))
        return digest_report(
            digest, {spec.name: image for spec, image in zip(specs, images, strict=True)}
        )

    async def forecasts(self, org_key: str, keys: Sequence[str]) -> dict[str, Forecast]:
        """Where each of these key results is heading by its cycle's end (those with too
        little history to tell are absent)."""
        org = await self.orgs.get(org_key)
        now = self.clock.now()
        found: dict[str, Forecast] = {}
        for cycle, tz, krs in _by_cycle_and_zone(org, keys, now):
            since, _ = cycle_window(cycle, tz)
            series = await self.store.kr_series(
                org.key, [k.key for k in krs], since=since, until=now
            )
            today = now.astimezone(tz).date()
            for kr in krs:
                f = forecast_key_result(
                    kr, series.get(kr.key, ()), today=today, end=cycle.end, tz=tz
                )
                if f is not None:
                    found[kr.key] = f
        return found

    async def key_result_chart(self, org_key: str, key: str) -> Report:
        """One key result's values, target and projection: a private report (`/okr chart`)."""
        org = await self.orgs.get(org_key)
        kr = _key_result(org, key)
        now = self.clock.now()
        cycle, tz = _cycle_and_zone(org, kr, now)
        since, _ = cycle_window(cycle, tz)
        points = (await self.store.kr_series(org.key, [kr.key], since=since, until=now)).get(
            kr.key, []
        )
        today = now.astimezone(tz).date()
        forecast = forecast_key_result(kr, points, today=today, end=cycle.end, tz=tz)
        spec = kr_chart(kr, points, forecast, cycle=cycle, today=today, tz=tz, locale=org.locale)
        if spec is None:
            raise CommandError(f"{kr.title} has no metric to chart: it is done or not done.")
        image = await self.charts.render(spec)  # start, target and pace, even before a report
        words = (
            forecast.words(unit=spec.unit, span=spec.span, locale=org.locale, today=today)
            if forecast
            else "Not enough check-ins yet for a projection: it takes two on different days."
        )
        return Report(
            title=f"📈 {literal(kr.title)}",
            summary=f"{cycle.key} · {literal(_owner(org, kr))}",
            sections=(Section("", (image, Line(words, tone=Tone.SUBTLE)), separated=False),),
            private=True,
        )


def _key_result(org: Organisation, key: str) -> KeyResult:
    wanted = key.strip()
    found = org.key_result.get(wanted) or next(
        (kr for kr in org.key_results if kr.key.lower() == wanted.lower()), None
    )
    if found is not None:
        return found
    guess = closest(wanted, [kr.key for kr in org.key_results])
    hint = f" Did you mean {code(guess)}?" if guess else " `mine` lists yours with their keys."
    raise CommandError(f"No key result “{wanted[:60]}”.{hint}")


def _owner(org: Organisation, kr: KeyResult) -> str:
    person = org.person.get(kr.owner or "")
    return person.name if person else "no owner"


def _cycle_and_zone(org: Organisation, kr: KeyResult, now: datetime) -> tuple[Cycle, ZoneInfo]:
    """The key result's cycle and the timezone its days are counted in (its team's)."""
    objective = org.objective[kr.objective]
    team = org.team.get(org.objective_team(objective) or "")
    tz = ZoneInfo(team.timezone if team else "UTC")
    cycle = org.cycle.get(objective.cycle) or org.current_cycle(now.astimezone(tz).date())
    return cycle, tz


def _by_cycle_and_zone(
    org: Organisation, keys: Sequence[str], now: datetime
) -> list[tuple[Cycle, ZoneInfo, list[KeyResult]]]:
    groups: dict[tuple[str, str], tuple[Cycle, ZoneInfo, list[KeyResult]]] = {}
    for key in keys:
        kr = org.key_result.get(key)
        if kr is None:
            continue
        cycle, tz = _cycle_and_zone(org, kr, now)
        groups.setdefault((cycle.key, tz.key), (cycle, tz, []))[2].append(kr)
    return list(groups.values())
