"""What the monthly review and the strategy refresh add to a digest, from real digests."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from rhythm.cadences import RhythmKind
from rhythm.digest_report import digest_report
from rhythm.markup import plain
from rhythm.records import AttendanceCell, KrPoint
from rhythm.reviews import owner_calibration, team_calibration, with_rhythm_health
from rhythm.sections import Image, Line
from tests.rhythm.orgs import SPRINT, utc
from tests.rhythm.test_digest_forecast import ANA, ORG, digest

MONDAYS = (date(2026, 4, 27), date(2026, 5, 4))
SPRINT_TZ = ZoneInfo(ORG.team["eng"].timezone)


def cell(week: date, asked: int, on_time: int) -> AttendanceCell:
    return AttendanceCell("eng", RhythmKind.WEEKLY, week, asked, on_time)


def test_rhythm_health_starts_at_the_first_week_anyone_was_asked_and_names_who_slipped() -> None:
    cells = [cell(MONDAYS[1], 4, 1)]  # only the second week had prompts, a quarter on time
    found = with_rhythm_health(ORG, digest({}), cells, SPRINT, date(2026, 5, 10))
    assert found.health is not None
    assert found.health.weeks == (MONDAYS[1],)
    assert found.health.rows == ("Engineering · weekly",)
    assert found.health.shares == ((0.25,),)
    assert found.health_lines == ("Engineering: 25% on time over 1 week.",)


def test_steady_teams_are_named_together() -> None:
    cells = [cell(MONDAYS[0], 2, 2), cell(MONDAYS[1], 2, 2)]
    found = with_rhythm_health(ORG, digest({}), cells, SPRINT, date(2026, 5, 10))
    assert found.health_lines == ("On the drumbeat every week (1 team): Engineering",)


def test_no_prompts_no_heatmap() -> None:
    found = with_rhythm_health(ORG, digest({}), [], SPRINT, date(2026, 5, 10))
    assert found.health is None


def test_the_refresh_scores_confidence_against_the_outcome_by_team_and_owner() -> None:
    # Ana said 8/10 every week on a key result that ends at 20% (the digest's progress).
    series = {"slow": [KrPoint("slow", utc(2026, 5, d, 12), 20.0, 8) for d in (4, 11, 18)]}
    base = digest(series)
    found = team_calibration(ORG, base, series, SPRINT_TZ)
    [sentence] = found.calibration
    assert sentence.startswith("Engineering was over-confident: average confidence 8.0")
    [ana] = owner_calibration(ORG, base, series, SPRINT_TZ)
    assert (ana.subject, ana.samples) == (ANA, 3)


def test_the_heatmap_opens_the_rhythm_health_section_of_the_report() -> None:
    cells = [cell(MONDAYS[1], 4, 1)]
    found = with_rhythm_health(ORG, digest({}), cells, SPRINT, date(2026, 5, 10))
    assert found.health is not None
    drawn = Image(b"png", "alt", found.health.name, 800, 200)
    [health] = [
        s for s in digest_report(found, {drawn.name: drawn}).sections if s.title == "Rhythm health"
    ]
    assert health.blocks[0] is drawn
    assert [plain(b.text) for b in health.blocks[1:] if isinstance(b, Line)] == [
        "Engineering: 25% on time over 1 week."
    ]
