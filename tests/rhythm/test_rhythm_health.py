"""Rhythm health: the heatmap's rows and shares, fall-offs and summaries, worked by hand."""

from __future__ import annotations

from datetime import date, timedelta

from rhythm.cadences import RhythmKind
from rhythm.chart_model import HeatmapChart
from rhythm.records import AttendanceCell
from rhythm.rhythm_health import (
    FallOff,
    cycle_weeks,
    fall_offs,
    heatmap,
    team_rhythms,
)

DAILY, WEEKLY, MONTHLY = RhythmKind.DAILY, RhythmKind.WEEKLY, RhythmKind.MONTHLY
W1, W2, W3, W4 = (date(2026, 10, 12) + timedelta(weeks=i) for i in range(4))  # W3: 26 Oct
TEAMS = ["product", "platform", "infra"]  # the tree's order
NAMES = {"product": "Product", "platform": "Platform", "infra": "Infra"}


def cell(team: str, kind: RhythmKind, week: date, asked: int, on_time: int) -> AttendanceCell:
    return AttendanceCell(team, kind, week, asked, on_time)


CELLS = [
    # Platform's weekly ritual: 80%, 60%, then 40% in the week of 26 Oct, back to 100%.
    cell("platform", WEEKLY, W1, 5, 4),
    cell("platform", WEEKLY, W2, 5, 3),
    cell("platform", WEEKLY, W3, 5, 2),
    cell("platform", WEEKLY, W4, 5, 5),
    # Product: always on time, weekly and daily; nobody asked daily in W2 (all off).
    cell("product", WEEKLY, W1, 3, 3),
    cell("product", WEEKLY, W2, 3, 3),
    cell("product", DAILY, W1, 15, 15),
    cell("product", DAILY, W2, 0, 0),
    cell("product", DAILY, W3, 12, 12),
    cell("product", MONTHLY, W4, 3, 3),
    # Infra: never got going (30%, 20%): nothing to fall off from.
    cell("infra", WEEKLY, W1, 10, 3),
    cell("infra", WEEKLY, W2, 10, 2),
]


def test_the_weeks_of_a_cycle_so_far_are_mondays() -> None:
    assert cycle_weeks(date(2026, 10, 14), date(2026, 11, 1)) == (W1, W2, W3)
    assert cycle_weeks(date(2026, 10, 12), date(2026, 10, 12)) == (W1,)
    assert cycle_weeks(date(2026, 10, 20), date(2026, 10, 12)) == ()


def test_the_heatmap_has_a_row_per_team_and_ritual_in_tree_order() -> None:
    weeks = cycle_weeks(W1, W4 + timedelta(days=2))
    extra = [cell("zeta", WEEKLY, W1, 2, 1), cell("platform", WEEKLY, W1 - timedelta(weeks=1),
                                                     4, 0)]  # fmt: skip

    chart = heatmap([*CELLS, *extra], teams=TEAMS, names=NAMES, weeks=weeks,
                    title="Rhythm health · 2026-Q4", name="rhythm-2026-Q4")  # fmt: skip

    assert chart == HeatmapChart(
        "Rhythm health · 2026-Q4",
        "rhythm-2026-Q4",
        rows=(
            "Product · daily", "Product · weekly", "Product · monthly", "Platform · weekly",
            "Infra · weekly", "zeta · weekly",
        ),
        weeks=(W1, W2, W3, W4),
        shares=(
            (1.0, None, 1.0, None),
            (1.0, 1.0, None, None),
            (None, None, None, 1.0),
            (0.8, 0.6, 0.4, 1.0),
            (0.3, 0.2, None, None),
            (0.5, None, None, None),
        ),
    )  # fmt: skip


def test_a_team_falls_off_in_the_first_week_below_half_after_being_on() -> None:
    found = fall_offs(CELLS, teams=TEAMS, names=NAMES)

    assert found == [FallOff("platform", "Platform", WEEKLY, W3, 0.4)]
    assert found[0].sentence == (
        "Platform fell off the weekly drumbeat in the week of 26 Oct: 40% on time"
    )


def test_weeks_nobody_was_asked_are_skipped_and_only_the_first_fall_off_counts() -> None:
    cells = [
        cell("ops", DAILY, W1, 4, 1),  # below before ever being on: not a fall-off
        cell("ops", DAILY, W2, 4, 2),  # exactly half: on
        cell("ops", DAILY, W3, 0, 0),  # nobody asked: neither
        cell("ops", DAILY, W4, 4, 1),  # 25%: off
        cell("ops", DAILY, W4 + timedelta(weeks=2), 4, 4),
        cell("ops", DAILY, W4 + timedelta(weeks=3), 4, 0),  # a second fall: not told
    ]

    assert fall_offs(cells, teams=["ops"], names={}) == [FallOff("ops", "ops", DAILY, W4, 0.25)]
    # At 20%, 25% is on the drumbeat: the fall is the last week's.
    assert fall_offs(cells, teams=["ops"], names={}, threshold=0.2) == [
        FallOff("ops", "ops", DAILY, W4 + timedelta(weeks=3), 0.0)
    ]


def test_each_team_gets_one_line() -> None:
    product, platform, infra = team_rhythms(CELLS, teams=TEAMS, names=NAMES)

    # Product: 3 + 3 + 15 + 0 + 12 + 3 = 36 asked, all on time, over W1..W4.
    assert (product.asked, product.on_time, product.weeks, product.steady) == (36, 36, 4, True)
    assert product.fall_offs == ()
    assert product.summary == "Product: 100% on time over 4 weeks, on the drumbeat every week."
    # Platform: 14 of 20.
    assert (platform.asked, platform.on_time, platform.steady) == (20, 14, False)
    assert platform.summary == (
        "Platform: 70% on time over 4 weeks; fell off the weekly drumbeat in the week of 26 Oct."
    )
    # Infra: 5 of 20, never on the drumbeat, so never off it.
    assert infra.summary == "Infra: 25% on time over 2 weeks."


def test_a_team_nobody_was_asked_and_two_fall_offs() -> None:
    cells = [
        cell("quiet", WEEKLY, W1, 0, 0),
        cell("ops", DAILY, W1, 2, 2),
        cell("ops", DAILY, W2, 2, 0),
        cell("ops", WEEKLY, W1, 1, 1),
        cell("ops", WEEKLY, W3, 1, 0),
    ]

    ops, quiet = team_rhythms(cells, teams=["ops", "quiet"], names={"ops": "Ops"})

    assert quiet.summary == "quiet: nobody was asked yet."
    assert ops.summary == (
        "Ops: 50% on time over 3 weeks; fell off the daily drumbeat in the week of 19 Oct and "
        "the weekly drumbeat in the week of 26 Oct."
    )
    assert team_rhythms([], teams=["ops"], names={}) == []
