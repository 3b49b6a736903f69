"""Digest benchmarks: the whole organisation's weekly digest and one team's.

`Digests.digest` end to end (the SQL facts, the cycle's series and `build_digest` with its
forecasts), with the organisation
already loaded, as a running server has it; the facts and the Python part are also timed on
their own. Run alone: python -m bench.digest DATABASE_URL
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.common import NullGateway, Result, measure
from bench.org import NOW, ORG
from rhythm.cadences import RhythmKind
from rhythm.digest import build_digest, scope_key_results, scope_people
from rhythm.digest_model import Digest, DigestScope
from rhythm.digests import _scope
from rhythm.forecast import _words as forecast_words_cache
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.records import DigestFacts
from rhythm.service import Drumbeat
from storage.store import SqlStore, open_store

WHOLE = "company"
TEAM = "team-07-12"  # a team of 20 in a division of 25 teams
WHOLE_TARGET = 1.0
TEAM_TARGET = 0.050


def scope_of(org: Organisation, team: str, now: datetime) -> DigestScope:
    """The scope `Digests.digest` works out for `team`'s weekly digest at `now`."""
    today = now.astimezone(ZoneInfo(org.team[team].timezone)).date()
    return _scope(org, team, RhythmKind.WEEKLY, today, org.current_cycle(today).key)


async def facts_of(
    store: SqlStore, org: Organisation, scope: DigestScope, now: datetime
) -> DigestFacts:
    """What `Digests.digest` asks the store for (the same arguments)."""
    return await store.digest_facts(
        org.key,
        kind=scope.kind,
        period=scope.period,
        previous=scope.previous_period,
        key_results=[kr.key for kr in scope_key_results(org, scope.team, scope.cycle)],
        people=scope_people(org, scope.team),
        teams=org.subtree(scope.team),
        now=now,
    )


def _size(digest: Digest) -> int:
    """Digests in the tree (the team's and one per team below)."""
    return 1 + sum(_size(detail) for detail in digest.details)


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:,.0f} ms"


async def run(url: str, backend: str, *, runs: int = 7, team_runs: int = 30) -> list[Result]:
    results: list[Result] = []
    async with open_store(url) as store:
        drumbeat = Drumbeat(store=store, chat=NullGateway(), clock=FixedClock(NOW))
        started = time.perf_counter()
        org = await drumbeat.organisation(ORG)
        results.append(Result(
            backend, "load the organisation (info)", [time.perf_counter() - started],
            note=f"{len(org.people):,} people, {len(org.key_results):,} key results",
        ))  # fmt: skip

        for team, target, count in ((WHOLE, WHOLE_TARGET, runs), (TEAM, TEAM_TARGET, team_runs)):
            label = "whole organisation" if team == WHOLE else f"one team ({team})"
            scope = scope_of(org, team, NOW)

            async def whole(team: str = team) -> Digest:
                forecast_words_cache.cache_clear()  # each run words its forecasts afresh
                return await drumbeat.digests.digest(ORG, team, at=NOW)

            async def facts(scope: DigestScope = scope) -> DigestFacts:
                return await facts_of(store, org, scope, NOW)

            samples = await measure(whole, runs=count)
            facts_samples = await measure(facts, runs=count)
            found = await facts()

            async def build(scope: DigestScope = scope, found: DigestFacts = found) -> Digest:
                return build_digest(org, scope, found, now=NOW)

            build_samples = await measure(build, runs=count)
            digest = await build()
            results.append(Result(
                backend, f"digest, {label}", samples, target,
                note=(f"facts {_ms(facts_samples)} + build {_ms(build_samples)}; "
                      f"{len(found.current):,} + {len(found.previous):,} key-result updates, "
                      f"{len(found.prompts):,} prompts, {_size(digest):,} digests"),
            ))  # fmt: skip
    return results


async def _main(url: str) -> None:
    for result in await run(url, url.split(":")[0]):
        print(f"{result.name:45} {result.show():>12}  {result.verdict:5} {result.note}")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
