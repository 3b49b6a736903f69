"""Rhythm health: how each team kept its rituals, week by week, from `AttendanceCell`s.

The share of a week is on time / asked (None when nobody was asked: no prompt, or everybody
off). A team falls off the drumbeat of a ritual in the first week whose share drops below
`FALL_OFF_THRESHOLD` (50%) after an earlier week at or above it; a team that never got there
has not fallen off anything, and only the first fall-off of each ritual is told. Weeks nobody
was asked are skipped, neither on nor off the drumbeat.

Pure: the caller reads the cells (`SeriesRepository.ritual_attendance`) and shows the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rhythm.cadences import RhythmKind
from rhythm.chart_model import HeatmapChart
from rhythm.records import AttendanceCell

FALL_OFF_THRESHOLD = 0.5
RITUAL_ORDER = (RhythmKind.DAILY, RhythmKind.WEEKLY, RhythmKind.MONTHLY, RhythmKind.END_OF_CYCLE)
RITUAL_NAME = {
    RhythmKind.DAILY: "daily",
    RhythmKind.WEEKLY: "weekly",
    RhythmKind.MONTHLY: "monthly",
    RhythmKind.END_OF_CYCLE: "end-of-cycle",
}


def cycle_weeks(start: date, today: date) -> tuple[date, ...]:
    """The Mondays of the weeks from the one holding `start` to the one holding `today`."""
    monday = start - timedelta(days=start.weekday())
    last = today - timedelta(days=today.weekday())
    weeks: list[date] = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return tuple(weeks)


def week_label(monday: date) -> str:
    """ "26 Oct" """
    return f"{monday.day} {monday:%b}"


def _totals(cells: Iterable[AttendanceCell]) -> dict[tuple[str, RhythmKind], dict[date, list[int]]]:
    """Per (team, ritual) and week, [asked, on time], summed should a week come twice."""
    found: dict[tuple[str, RhythmKind], dict[date, list[int]]] = {}
    for cell in cells:
        total = found.setdefault((cell.team, cell.kind), {}).setdefault(cell.week, [0, 0])
        total[0] += cell.asked
        total[1] += cell.on_time
    return found


def _share(total: Sequence[int] | None) -> float | None:
    return total[1] / total[0] if total and total[0] > 0 else None


def _team_order(teams: Sequence[str], found: Iterable[str]) -> list[str]:
    """`teams` (tree order) first, then any other team of the cells, by key."""
    listed = set(teams)
    return [*teams, *sorted({t for t in found if t not in listed})]


def heatmap(
    cells: Iterable[AttendanceCell],
    *,
    teams: Sequence[str],
    names: Mapping[str, str],
    weeks: Sequence[date],
    title: str,
    name: str,
) -> HeatmapChart:
    """One row per team and ritual that has cells ("Platform · weekly"), teams in `teams`'
    order (the tree's), then daily, weekly, monthly, end-of-cycle; one column per week of
    `weeks` (Mondays, oldest first: see `cycle_weeks`). Cells of other weeks are left out."""
    totals = _totals(cells)
    rows: list[str] = []
    shares: list[tuple[float | None, ...]] = []
    for team in _team_order(teams, (t for t, _ in totals)):
        for kind in RITUAL_ORDER:
            by_week = totals.get((team, kind))
            if by_week is None:
                continue
            rows.append(f"{names.get(team, team)} · {RITUAL_NAME[kind]}")
            shares.append(tuple(_share(by_week.get(week)) for week in weeks))
    return HeatmapChart(title, name, tuple(rows), tuple(weeks), tuple(shares))


@dataclass(frozen=True, slots=True)
class FallOff:
    """The first week a team's ritual dropped below the threshold after being at or above it."""

    team: str
    name: str
    kind: RhythmKind
    week: date
    share: float

    @property
    def sentence(self) -> str:
        """ "Platform fell off the weekly drumbeat in the week of 26 Oct: 40% on time" """
        return (
            f"{self.name} fell off the {RITUAL_NAME[self.kind]} drumbeat in the week of "
            f"{week_label(self.week)}: {self.share:.0%} on time"
        )


def _fall_off(by_week: Mapping[date, Sequence[int]], threshold: float) -> tuple[date, float] | None:
    was_on = False
    for week in sorted(by_week):
        share = _share(by_week[week])
        if share is None:
            continue
        if share >= threshold:
            was_on = True
        elif was_on:
            return week, share
    return None


def fall_offs(
    cells: Iterable[AttendanceCell],
    *,
    teams: Sequence[str],
    names: Mapping[str, str],
    threshold: float = FALL_OFF_THRESHOLD,
) -> list[FallOff]:
    """Each team's and ritual's first fall-off, in the heatmap's row order."""
    totals = _totals(cells)
    found: list[FallOff] = []
    for team in _team_order(teams, (t for t, _ in totals)):
        for kind in RITUAL_ORDER:
            by_week = totals.get((team, kind))
            fell = _fall_off(by_week, threshold) if by_week else None
            if fell is not None:
                found.append(FallOff(team, names.get(team, team), kind, fell[0], fell[1]))
    return found


@dataclass(frozen=True, slots=True)
class TeamRhythm:
    """A team's rituals over the weeks of the cells, all rituals together."""

    team: str
    name: str
    asked: int
    on_time: int
    weeks: int  # weeks anybody was asked anything
    steady: bool  # every such week of every ritual at or above the threshold
    fall_offs: tuple[FallOff, ...] = ()

    @property
    def share(self) -> float | None:
        return self.on_time / self.asked if self.asked else None

    @property
    def summary(self) -> str:
        """ "Platform: 72% on time over 6 weeks; fell off the weekly drumbeat in the week of
        26 Oct." """
        share = self.share
        if share is None:
            return f"{self.name}: nobody was asked yet."
        weeks = "1 week" if self.weeks == 1 else f"{self.weeks} weeks"
        head = f"{self.name}: {share:.0%} on time over {weeks}"
        if self.fall_offs:
            fell = " and ".join(
                f"the {RITUAL_NAME[f.kind]} drumbeat in the week of {week_label(f.week)}"
                for f in self.fall_offs
            )
            return f"{head}; fell off {fell}."
        return f"{head}, on the drumbeat every week." if self.steady else f"{head}."


def team_rhythms(
    cells: Iterable[AttendanceCell],
    *,
    teams: Sequence[str],
    names: Mapping[str, str],
    threshold: float = FALL_OFF_THRESHOLD,
) -> list[TeamRhythm]:
    """One line per team that has cells, in `teams`' order: totals, whether it kept every
    ritual at or above the threshold every week, and its fall-offs."""
    listed = list(cells)
    falls: dict[str, list[FallOff]] = {}
    for fell in fall_offs(listed, teams=teams, names=names, threshold=threshold):
        falls.setdefault(fell.team, []).append(fell)
    per_team: dict[str, list[list[int]]] = {}
    weeks: dict[str, set[date]] = {}
    for (team, _), by_week in _totals(listed).items():
        per_team.setdefault(team, []).extend(by_week.values())
        weeks.setdefault(team, set()).update(w for w, total in by_week.items() if total[0] > 0)
    found: list[TeamRhythm] = []
    for team in _team_order(teams, per_team):
        totals = per_team.get(team)
        if totals is None:
            continue
        shares = [share for total in totals if (share := _share(total)) is not None]
        found.append(
            TeamRhythm(
                team,
                names.get(team, team),
                sum(t[0] for t in totals),
                sum(t[1] for t in totals),
                len(weeks[team]),
                all(share >= threshold for share in shares),
                tuple(falls.get(team, ())),
            )
        )
    return found
