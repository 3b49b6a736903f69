"""Chart rendering: the time to draw each kind of chart, and a digest run's charts for 500
teams through `rhythm.rendering.ChartRenderer`.

Per chart: `rhythm.charts.draw` in this process (a team's progress chart with four
objectives, a key result's chart, a rhythm-health heat map of 12 rows by 13 weeks), the
median and p95 of `--runs` draws after a warm-up, against the budget of 100 ms a chart, and
the PNG's size (Teams inlines an image of a few tens of KB into its ~28 KB message).

Digest run: `--teams` progress charts of realistic, seeded data (1 to 6 objectives, weekly
check-ins up to today, projections with bands), all submitted at once to one renderer, as a
digest run for every team does: the wall time, charts a second, and the event loop's longest
pause meanwhile (a coroutine that sleeps 5 ms measures how late it wakes). Once with worker
processes, once with worker threads, side by side; each renderer is started and warm before
the clock starts (its cold start is shown apart). Every image is checked against `draw`.

    .venv/bin/python -m bench.charts [--runs 50] [--teams 500] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from rhythm.chart_model import ChartSpec, HeatmapChart, KrChart, ProgressChart, Track
from rhythm.charts import draw
from rhythm.rendering import ChartRenderer

TARGET = 0.100  # seconds a chart
PLURAL = {"process": "processes", "thread": "threads"}
START, END, TODAY = date(2026, 10, 1), date(2026, 12, 31), date(2026, 11, 25)
OBJECTIVES = (
    "Win the mid-market",
    "Make onboarding delightful for every new customer",
    "Cut churn in the SMB segment",
    "Ship the self-serve billing portal",
    "Be the most reliable platform in our category",
    "Grow the partner channel in EMEA",
    "Halve the time from signup to first value",
    "Build a hiring engine for engineering",
)
TEAMS = ("Growth", "Platform", "Sales EMEA", "Design", "Support", "Data", "Mobile", "Billing")


def progress_chart(rng: random.Random, n: int) -> ProgressChart:
    """A team's objectives as the digest draws them: weekly check-ins from a random first
    week, each objective at its own pace, and a projection whose band widens as it lags."""
    tracks = []
    for k in range(rng.randint(1, 6)):
        pace = rng.uniform(0.4, 1.3)
        first = START + timedelta(days=rng.randint(0, 20))
        value, history = 0.0, []
        day = first
        while day <= TODAY:
            value = max(0.0, min(1.0, value + pace * 7 / 91 + rng.gauss(0, 0.02)))
            history.append((day, round(value, 3)))
            day += timedelta(days=7)
        projected = min(1.0, value + pace * (END - TODAY).days / 91)
        spread = rng.uniform(0.03, 0.15)
        tracks.append(Track(
            OBJECTIVES[(n + k) % len(OBJECTIVES)], tuple(history),
            projected, max(0.0, projected - spread), min(1.0, projected + spread),
        ))  # fmt: skip
    team = f"{TEAMS[n % len(TEAMS)]} {n}"
    return ProgressChart(
        f"{team} · 2026-Q4", f"team-{n}-2026-W48", START, END, TODAY, tuple(tracks)
    )


def specimens() -> dict[str, ChartSpec]:
    rng = random.Random(7)
    weeks = tuple(date(2026, 9, 28) + timedelta(weeks=w) for w in range(13))
    rows = tuple(f"{TEAMS[r % len(TEAMS)]} {r} · weekly" for r in range(12))
    shares = tuple(
        tuple(None if rng.random() < 0.08 else round(rng.random(), 2) for _ in weeks) for _ in rows
    )
    values = [3200, 3350, 3420, 3600, 3700, 3900, 4050, 4120]
    kr = KrChart(
        "Grow ARR to 4.5 M€", "arr", START, END, TODAY, "k€", 3200, 4500,
        Track("ARR", tuple((START + timedelta(days=4 + 7 * w), v) for w, v in enumerate(values)),
              4480, 4300, 4700),
        span=1300,
    )  # fmt: skip
    progress = progress_chart(random.Random(3), 0)
    progress = ProgressChart(
        progress.title, progress.name, START, END, TODAY,
        tuple(progress_chart(random.Random(s), s).tracks[0] for s in range(4)),
    )  # fmt: skip
    return {
        "progress chart (4 objectives)": progress,
        "key result chart": kr,
        "heat map (12 rows x 13 weeks)": HeatmapChart("Rhythm health", "h", rows, weeks, shares),
    }


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    median: float
    p95: float
    size: int


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def per_chart(runs: int) -> list[Timing]:
    timings = []
    for name, spec in specimens().items():
        for _ in range(5):
            image = draw(spec)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            draw(spec)
            samples.append(time.perf_counter() - started)
        timings.append(Timing(name, statistics.median(samples), p95(samples), len(image.png)))
    return timings


@dataclass(frozen=True, slots=True)
class Run:
    kind: str
    workers: int
    cold: float  # seconds from a new renderer to its first image
    wall: float
    charts: int
    longest_pause: float
    wrong: int
    sizes: list[int]


async def digest_run(
    kind: Literal["process", "thread"],
    workers: int | None,
    specs: list[ProgressChart],
    wanted: list[bytes],
) -> Run:
    async with ChartRenderer(workers, kind=kind) as renderer:
        started = time.perf_counter()
        await renderer.render(specs[0])
        cold = time.perf_counter() - started
        await asyncio.gather(*(renderer.render(s) for s in specs[: renderer.workers * 2]))
        pauses: list[float] = []
        done = False

        async def ticker() -> None:
            while not done:
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                pauses.append(time.perf_counter() - before - 0.005)

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        images = await asyncio.gather(*(renderer.render(s) for s in specs))
        wall = time.perf_counter() - started
        done = True
        await ticking
    wrong = sum(i.png != w for i, w in zip(images, wanted, strict=True))
    return Run(
        kind, renderer.workers, cold, wall, len(specs), max(pauses), wrong,
        [len(i.png) for i in images],
    )  # fmt: skip


def table(timings: list[Timing], runs: list[Run], draws: int) -> str:
    lines = [
        f"Charts, drawn in one process ({draws} draws each after 5 warm-up; target < "
        f"{TARGET * 1000:.0f} ms a chart)",
        f"{'chart':<32}  {'median':>9}  {'p95':>9}  {'PNG':>9}  result",
    ]
    for t in timings:
        verdict = "PASS" if t.median < TARGET else "FAIL"
        lines.append(
            f"{t.name:<32}  {t.median * 1000:6.1f} ms  {t.p95 * 1000:6.1f} ms  "
            f"{t.size:>6,} B  {verdict}"
        )
    lines += [
        "",
        f"Digest run: {runs[0].charts} progress charts at once through ChartRenderer "
        f"({os.cpu_count()} CPUs)",
        f"{'workers':<12}  {'cold start':>10}  {'wall':>7}  {'charts/s':>8}  "
        f"{'per chart':>9}  {'loop pause':>10}  {'PNG median':>10}  check",
    ]
    for r in runs:
        lines.append(
            f"{r.workers} {PLURAL[r.kind]:<10}  {r.cold:8.2f} s  {r.wall:5.2f} s  "
            f"{r.charts / r.wall:8.1f}  {r.wall / r.charts * 1000:6.1f} ms  "
            f"{r.longest_pause * 1000:7.1f} ms  {statistics.median(r.sizes):>8,.0f} B  "
            f"{'all right' if not r.wrong else f'{r.wrong} WRONG'}"
        )
    return "\n".join(lines)


async def main(runs: int, teams: int, workers: int | None) -> str:
    timings = per_chart(runs)
    specs = [progress_chart(random.Random(n), n) for n in range(teams)]
    wanted = [draw(s).png for s in specs]
    done = [
        await digest_run("process", workers, specs, wanted),
        await digest_run("thread", workers, specs, wanted),
    ]
    return table(timings, done, runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    arguments = parser.parse_args()
    print(asyncio.run(main(arguments.runs, arguments.teams, arguments.workers)))
