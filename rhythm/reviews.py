"""What the monthly review and the strategy refresh add to a digest: how the teams kept their
rituals (rhythm health) and how well their confidence foretold their scores (calibration)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, tzinfo

from rhythm.calibration import Calibration, calibrate_by
from rhythm.digest_model import Digest
from rhythm.okr import Cycle, KeyResult, Organisation
from rhythm.records import AttendanceCell, KrPoint
from rhythm.rhythm_health import cycle_weeks, heatmap, team_rhythms
from rhythm.trends import chart_name
from rhythm.wording import plural


def with_rhythm_health(
    org: Organisation, digest: Digest, cells: Sequence[AttendanceCell], cycle: Cycle, today: date
) -> Digest:
    """`digest` with its teams' on-time shares by ritual and week, and who fell off when."""
    teams = org.subtree(digest.team)
    names = {key: org.team[key].name for key in teams}
    # From the first week anyone was asked: weeks before the drumbeat started say nothing.
    asked = [c.week for c in cells if c.asked]
    weeks = [w for w in cycle_weeks(cycle.start, today) if asked and w >= min(asked)]
    chart = heatmap(
        cells, teams=teams, names=names, weeks=weeks,
        title=f"{digest.team_name} · rhythm health · {cycle.key}",
        name=chart_name(digest.team, digest.period, "rhythm"),
    )  # fmt: skip
    rhythms = [r for r in team_rhythms(cells, teams=teams, names=names) if r.asked]
    # A leader reads about the teams that slipped; the steady ones are named together.
    lines = [r.summary for r in rhythms if not r.steady]
    steady = [r.name for r in rhythms if r.steady]
    if steady:
        lines.append(
            f"On the drumbeat every week ({plural(len(steady), 'team')}): " + ", ".join(steady)
        )
    return replace(
        digest, health=chart if chart.rows and weeks else None, health_lines=tuple(lines)
    )


def final_scores(digest: Digest) -> dict[str, float]:
    """Each key result's score as the cycle ends: its progress in the refresh digest."""
    return {k.key: k.progress for o in digest.objectives for k in o.key_results}


def team_calibration(
    org: Organisation, digest: Digest, series: Mapping[str, Sequence[KrPoint]], tz: tzinfo
) -> Digest:
    """`digest` with each team's calibration (never a person's: those are for leads only)."""
    team_of = {
        kr.key: org.objective_team(org.objective[kr.objective]) for kr in _key_results(org, digest)
    }
    names = {t.key: t.name for t in org.teams}
    found = calibrate_by(series, team_of, final_scores(digest), names, tz=tz)
    return replace(digest, calibration=tuple(c.sentence for c in found))


def owner_calibration(
    org: Organisation, digest: Digest, series: Mapping[str, Sequence[KrPoint]], tz: tzinfo
) -> list[Calibration]:
    """Each owner's calibration over the digest's key results, for their team's leads."""
    owner_of = {kr.key: kr.owner for kr in _key_results(org, digest)}
    names = {p.email: p.name for p in org.people}
    return calibrate_by(series, owner_of, final_scores(digest), names, tz=tz)


def _key_results(org: Organisation, digest: Digest) -> list[KeyResult]:
    keys = final_scores(digest)
    return [org.key_result[k] for k in keys if k in org.key_result]
