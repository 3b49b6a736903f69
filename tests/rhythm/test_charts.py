"""The charts as images: decodable PNGs of a fixed size, byte for byte the same for the same
spec, words that say what they show, and a renderer that keeps the event loop running."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PIL import Image as PilImage

from rhythm.chart_model import ChartSpec, HeatmapChart, KrChart, ProgressChart, Track
from rhythm.charts import ALT_LIMIT, HEIGHT, WIDTH, alt_text, draw, heatmap_height
from rhythm.rendering import ChartRenderer
from rhythm.sections import Image

START, END, TODAY = date(2026, 10, 1), date(2026, 12, 31), date(2026, 11, 24)


def weekly(first: int, values: list[float]) -> tuple[tuple[date, float], ...]:
    return tuple((START + timedelta(days=first + 7 * n), v) for n, v in enumerate(values))


MID_MARKET = Track(
    "Win the mid-market",
    weekly(3, [0.05, 0.12, 0.18, 0.22, 0.30, 0.38, 0.41, 0.45]),
    0.52,
    0.40,
    0.61,
)
ONBOARDING = Track(
    "Make onboarding delightful for every new customer in EMEA and APAC, self-serve first",
    weekly(5, [0.0, 0.1, 0.25, 0.4, 0.55, 0.62, 0.7]),
    0.95,
    0.85,
    1.0,
)
CHURN = Track("Cut churn", weekly(10, [0.1, 0.1, 0.12, 0.11, 0.15, 0.16]))  # no projection

PROGRESS = ProgressChart(
    "Growth · 2026-Q4", "growth-2026-W48", START, END, TODAY, (MID_MARKET, ONBOARDING, CHURN)
)
TIME_TO_VALUE = KrChart(
    "Reduce time to first value",
    "ttfv",
    START,
    END,
    TODAY,
    "h",
    6.0,
    1.0,
    Track("ttfv", weekly(4, [6.0, 5.6, 5.1, 4.9, 4.2, 3.8, 3.5]), 2.1, 1.4, 2.9),
    span=-5.0,
)
ARR = KrChart(
    "Grow ARR to 4.5 M€",
    "arr",
    START,
    END,
    TODAY,
    "k€",
    3200,
    4500,
    Track("arr", weekly(4, [3200, 3350, 3420, 3600, 3700, 3900, 4050]), 4500, 4300, 4800),
    span=1300,
)
WEEKS = tuple(date(2026, 9, 28) + timedelta(weeks=n) for n in range(13))
HEALTH = HeatmapChart(
    "Rhythm health · 2026-Q4",
    "health-2026-q4",
    ("Platform · weekly", "Growth · weekly", "Sales EMEA and APAC enterprise accounts · weekly"),
    WEEKS,
    (
        (0.8, 0.9, None, 1.0, 0.75, 0.8, 0.9, 1.0, 0.6, 0.8, 0.85, 0.9, 1.0),
        (0.5, 0.4, 0.45, 0.3, 0.2, 0.0, 0.1, 0.3, 0.5, 0.6, 0.4, 0.5, 0.55),
        (None, None, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 0.9, None, 0.7, 0.8, 0.95),
    ),
)
SPECS: dict[str, ChartSpec] = {
    "progress": PROGRESS,
    "kr": TIME_TO_VALUE,
    "kr-rising": ARR,
    "heatmap": HEALTH,
}


def decoded(image: Image) -> PilImage.Image:
    with PilImage.open(io.BytesIO(image.png)) as png:
        assert png.format == "PNG"
        return png.convert("RGB")


def fingerprints(image: Image) -> tuple[str, str]:
    """The sha256 of the file and of its decoded pixels."""
    pixels = decoded(image).tobytes()
    return hashlib.sha256(image.png).hexdigest(), hashlib.sha256(pixels).hexdigest()


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_a_chart_is_a_small_png_of_its_size(kind: str) -> None:
    spec = SPECS[kind]
    image = draw(spec)
    png = decoded(image)
    assert png.size == (image.width, image.height)
    assert png.size == (WIDTH, HEIGHT if kind != "heatmap" else heatmap_height(3))
    assert image.name == f"{spec.name}.png"
    assert image.title == spec.title
    assert len(image.png) < 40_000  # Teams inlines small images in a ~28 KB message
    # not blank: the drawing has ink, and more than a couple of colours
    assert len(png.getcolors(maxcolors=1 << 16) or ()) > 8


def test_a_progress_chart_fits_a_teams_message() -> None:
    assert len(draw(PROGRESS).png) < 20_000


def test_the_background_is_opaque_for_dark_themes() -> None:
    """No pixel is see-through: on Slack's dark theme dark text on a transparent image would
    vanish."""
    with PilImage.open(io.BytesIO(draw(PROGRESS).png)) as png:
        rgba = png.convert("RGBA")
    assert rgba.getextrema()[3] == (255, 255)
    assert rgba.getpixel((WIDTH // 2, 5))[:3] == (255, 255, 255)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_same_spec_gives_the_same_bytes_and_pixels(kind: str) -> None:
    spec = SPECS[kind]
    first, second = draw(spec), draw(spec)
    assert first.png == second.png
    assert fingerprints(first) == fingerprints(second)
    assert first == second


def test_a_different_spec_gives_a_different_image() -> None:
    moved = replace(MID_MARKET, history=(*MID_MARKET.history[:-1], (TODAY, 0.5)))
    other = replace(PROGRESS, tracks=(moved, ONBOARDING, CHURN))
    shown = {fingerprints(draw(s)) for s in (PROGRESS, other, replace(PROGRESS, today=END))}
    assert len(shown) == 3
    assert len({f[1] for f in shown}) == 3  # the pixels differ, not only the bytes


def test_the_png_carries_no_metadata() -> None:
    with PilImage.open(io.BytesIO(draw(PROGRESS).png)) as png:
        assert not {"Software", "Creation Time", "date:create"} & set(png.info)
    assert b"tEXt" not in draw(PROGRESS).png
    assert b"tIME" not in draw(PROGRESS).png


# ---- words ----------------------------------------------------------------------------------


def test_the_progress_alt_text_names_every_objective_with_its_numbers() -> None:
    alt = alt_text(PROGRESS)
    assert alt == draw(PROGRESS).alt
    assert alt.startswith("Growth · 2026-Q4: objectives from 1 Oct to 31 Dec, 59% of the cycle")
    assert "Win the mid-market at 45%, projected 52% (40–61%) by 31 Dec" in alt
    assert f"{ONBOARDING.label} at 70%, projected 95% (85–100%) by 31 Dec" in alt
    assert "Cut churn at 16%;" in alt  # no projection: no words for one
    assert alt.endswith("expected pace 59%.")


def test_the_key_result_alt_text_says_start_target_value_and_projection() -> None:
    assert alt_text(TIME_TO_VALUE) == (
        "Reduce time to first value: from 6 h to a target of 1 h by 31 Dec, 59% of the cycle "
        "elapsed; 3.5 h on 16 Nov (7 check-ins); expected pace 3 h today; projected 2.1 h "
        "(1.4 h to 2.9 h) by 31 Dec."
    )
    assert "4,050 k€ on 16 Nov" in alt_text(ARR)
    assert "target of 4,500 k€" in alt_text(ARR)


def test_the_heatmap_alt_text_reads_every_row_and_week() -> None:
    alt = alt_text(HEALTH)
    assert "per week from 28 Sep to 21 Dec, 3 rows" in alt
    assert "Platform · weekly 80%, 90%, none, 100%, 75%" in alt
    assert "Growth · weekly 50%, 40%, 45%, 30%, 20%, 0%," in alt
    assert HEALTH.rows[2] + " none, none, 25%" in alt


def test_the_summary_is_a_sparkline_per_series() -> None:
    assert draw(PROGRESS).summary == (
        "Win the mid-market ▁▂▃▄▅▇▇█ 45% → 52% · Make onboarding delightful for every… "
        "▁▂▃▅▇▇█ 70% → 95% · Cut churn ▁▁▃▂▇█ 16%"
    )
    assert draw(TIME_TO_VALUE).summary == "ttfv █▇▅▅▃▂▁ 3.5 h → 2.1 h (target 1 h)"
    assert draw(HEALTH).summary.startswith(
        "Platform · weekly ▅▆█▄▅▆█▁▅▅▆█ 100% · Growth · weekly ▇▆▆▅▃▁▂▅▇█▆▇▇ 55% · "
    )


def test_a_long_alt_text_stays_within_slacks_limit() -> None:
    many = tuple(replace(MID_MARKET, label=f"Objective number {n} " + "x" * 60) for n in range(80))
    alt = alt_text(replace(PROGRESS, tracks=many))
    assert len(alt) <= ALT_LIMIT
    assert "Objective number 0 " in alt
    assert alt.endswith("more; expected pace 59%.")


# ---- edge cases -----------------------------------------------------------------------------


EDGES: dict[str, ChartSpec] = {
    "one point": replace(PROGRESS, tracks=(Track("Only one", ((TODAY, 0.3),), 0.6, 0.5, 0.7),)),
    "no projection": replace(PROGRESS, tracks=(CHURN,)),
    "no tracks": replace(PROGRESS, tracks=()),
    "no history": replace(PROGRESS, tracks=(Track("Not started", (), 0.2, 0.1, 0.3),)),
    "before the cycle": replace(PROGRESS, today=START - timedelta(days=3)),
    "after the cycle": replace(PROGRESS, today=END + timedelta(days=10)),
    "ten objectives": replace(
        PROGRESS, tracks=tuple(replace(MID_MARKET, label=f"Objective {n}") for n in range(10))
    ),
    "math-looking labels": replace(
        PROGRESS, title="Revenue $1M_ARR & ^growth$", tracks=(replace(CHURN, label="$x_1$ cost"),)
    ),
    "over 100%": replace(
        PROGRESS, tracks=(Track("Overdone", weekly(3, [0.5, 1.2]), 1.4, 1.3, 1.5),)
    ),
    "short cycle": ProgressChart(
        "Sprint",
        "sprint",
        date(2026, 11, 2),
        date(2026, 11, 15),
        date(2026, 11, 9),
        (Track("Ship", ((date(2026, 11, 3), 0.2), (date(2026, 11, 6), 0.5)), 0.9, 0.8, 1.0),),
    ),
    "year cycle": replace(PROGRESS, start=date(2026, 1, 1)),
    "kr decreasing": TIME_TO_VALUE,
    "kr one point": replace(TIME_TO_VALUE, track=Track("ttfv", ((TODAY, 5.0),))),
    "kr no history": replace(TIME_TO_VALUE, track=Track("ttfv", ())),
    "kr flat": KrChart("Flat", "flat", START, END, TODAY, "", 0.0, 0.0, Track("f", ((TODAY, 0),))),
    "kr tiny span": KrChart(
        "Uptime",
        "uptime",
        START,
        END,
        TODAY,
        "%",
        99.8,
        99.95,
        Track("u", weekly(0, [99.8, 99.85, 99.82, 99.9]), 99.93, 99.9, 99.97),
        span=0.15,
    ),
    "kr german": replace(ARR, locale="de"),
    "heatmap none cell": replace(HEALTH, rows=HEALTH.rows[:1], shares=((0.8, None, *[1.0] * 11),)),
    "heatmap all none": replace(HEALTH, rows=("Quiet",), shares=((None,) * 13,)),
    "heatmap no rows": replace(HEALTH, rows=(), shares=()),
    "heatmap no weeks": replace(HEALTH, weeks=(), shares=((), (), ())),
    "heatmap one week": replace(HEALTH, weeks=WEEKS[:1], shares=((0.8,), (0.0,), (None,))),
    "heatmap long labels": replace(
        HEALTH,
        rows=tuple(r * 3 for r in HEALTH.rows),
        weeks=WEEKS + WEEKS,
        shares=tuple(s + s for s in HEALTH.shares),
    ),
}


@pytest.mark.parametrize("case", sorted(EDGES))
def test_edge_cases_draw_decodable_images_with_words(case: str) -> None:
    spec = EDGES[case]
    image = draw(spec)
    png = decoded(image)
    assert png.size == (image.width, image.height)
    assert image.width == WIDTH
    assert len(image.png) < 40_000
    assert image.alt.startswith(spec.title)
    assert image.summary
    assert draw(spec).png == image.png


def test_labels_that_look_like_math_are_written_as_they_are() -> None:
    image = draw(EDGES["math-looking labels"])
    assert "$x_1$ cost" in image.alt
    assert image.summary.startswith("$x_1$ cost ")


def test_a_long_label_is_shortened_in_the_summary_but_whole_in_the_alt_text() -> None:
    image = draw(replace(PROGRESS, tracks=(ONBOARDING,)))
    assert ONBOARDING.label in image.alt
    assert ONBOARDING.label not in image.summary
    assert image.summary.startswith("Make onboarding delightful for every… ")


def test_words_for_empty_charts() -> None:
    assert alt_text(EDGES["no tracks"]).endswith("; no objectives.")
    assert "Not started: no check-ins, projected 20% (10–30%)" in alt_text(EDGES["no history"])
    assert "no check-ins yet" in alt_text(EDGES["kr no history"])
    assert (
        alt_text(EDGES["heatmap no rows"]) == "Rhythm health · 2026-Q4: no prompts in these weeks."
    )
    assert "Quiet none, none" in alt_text(EDGES["heatmap all none"])
    assert draw(EDGES["heatmap all none"]).summary == "Quiet –"


def test_a_decreasing_key_result_reads_downwards() -> None:
    assert "█▇▅▅▃▂▁" in draw(TIME_TO_VALUE).summary


def test_a_key_result_in_german_writes_german_numbers() -> None:
    alt = alt_text(EDGES["kr german"])
    assert "4.050 k€" in alt
    assert "Nov." in alt


def test_a_heatmap_grows_with_its_rows() -> None:
    rows = tuple(f"Team {n} · weekly" for n in range(30))
    spec = replace(HEALTH, rows=rows, shares=tuple(HEALTH.shares[n % 3] for n in range(30)))
    image = draw(spec)
    assert image.height == heatmap_height(30) > HEIGHT > heatmap_height(3)
    assert decoded(image).size == (WIDTH, image.height)


def test_drawing_in_threads_gives_the_bytes_of_drawing_alone() -> None:
    """Per-figure state only: two threads drawing at once do not disturb each other."""
    specs = [*SPECS.values(), *(EDGES[c] for c in ("one point", "kr german", "heatmap one week"))]
    specs = specs * 2
    alone = [draw(s).png for s in specs]
    with ThreadPoolExecutor(2) as pool:
        together = [i.png for i in pool.map(draw, specs)]
    assert together == alone


# ---- the renderer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def renderer() -> AsyncIterator[ChartRenderer]:
    async with ChartRenderer(2) as shared:
        yield shared


async def test_rendering_leaves_the_event_loop_running(renderer: ChartRenderer) -> None:
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0.002)
            ticks += 1

    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        image = await renderer.render(HEALTH)
        before = ticks
        await renderer.render(PROGRESS)  # a warm worker too: the ticker ran during the render
        during = ticks - before
    finally:
        done = True
        await running
    assert image == draw(HEALTH)
    assert during >= 2


async def test_many_concurrent_renders_are_each_right(renderer: ChartRenderer) -> None:
    specs = [*SPECS.values(), *(EDGES[c] for c in ("no tracks", "kr flat", "heatmap no rows"))]
    wanted = [draw(s) for s in specs]
    got = await asyncio.gather(*(renderer.render(s) for s in specs * 3))
    assert got == wanted * 3


async def test_a_thread_renderer_gives_the_same_images() -> None:
    async with ChartRenderer(2, kind="thread") as threads:
        got = await asyncio.gather(*(threads.render(s) for s in SPECS.values()))
    assert got == [draw(s) for s in SPECS.values()]


async def test_a_renderer_replaces_a_dead_worker_and_restarts_after_close() -> None:
    renderer = ChartRenderer(1)
    try:
        assert renderer._pool is None  # lazily: nothing started before the first render
        await renderer.render(PROGRESS)
        pool = renderer._pool
        assert pool is not None
        for pid in list(pool._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        assert await renderer.render(ARR) == draw(ARR)
        assert renderer._pool is not pool
        await renderer.aclose()
        assert renderer._pool is None
        assert await renderer.render(HEALTH) == draw(HEALTH)
    finally:
        renderer.close()


def test_the_process_that_serves_chat_never_loads_matplotlib() -> None:
    """Only the drawing workers do: the server stays small (bench: idle RSS)."""
    probe = "import sys, bot.server, rhythm.service; print('matplotlib' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert shown.stdout.strip() == "False"
