"""Draws the core's chart specs (`rhythm.chart_model`) as small PNG images, and says in words
what each shows: alt text for screen readers and a one-line sparkline for where no image can
be shown.

The only module of the core that imports matplotlib (and Pillow, which matplotlib depends on).
`draw` is synchronous and CPU-bound (tens of milliseconds); `ChartRenderer.render` runs it in
worker processes so the event loop never waits on it.

Deterministic: the same spec gives the same bytes. The size and resolution are fixed, every
text uses the DejaVu Sans file shipped inside matplotlib (not whatever font the system has
under that name), every colour, width and font size is passed explicitly rather than read from
rcParams, ticks are placed and labelled here, no clock is read and the PNG carries no metadata.

Accessible: an opaque light panel with dark text, so the chart reads the same in a light and a
dark chat theme (a transparent image with dark text vanishes on Slack's dark #1a1d21, and one
with light text on a white one); the Okabe-Ito palette, colour-blind safe, and each series also
has its own marker and line style, so nothing is told by colour alone; the heat map writes its
numbers in the cells.

Small: Teams inlines an image as a data URI inside a message of about 28 KB, so the drawing is
reduced to a palette of at most `COLOURS` colours (lines keep their anti-aliasing, which the
palette absorbs) and written with the PNG optimiser.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path as FilePath
from typing import Any

import matplotlib
from babel.dates import format_date
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection, PathCollection
from matplotlib.colors import Colormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, IdentityTransform, ScaledTranslation
from matplotlib.typing import LineStyleType
from PIL import Image as PilImage

from rhythm.chart_model import ChartSpec, HeatmapChart, KrChart, ProgressChart, Track, sparkline
from rhythm.forecast import fmt_day
from rhythm.present import DEFAULT_LOCALE, fmt_value
from rhythm.sections import Image

WIDTH, HEIGHT, DPI = 800, 400, 100
COLOURS = 64  # the palette of the PNG: enough for anti-aliased lines and translucent bands
ALT_LIMIT = 1900  # Slack refuses an image block's alt_text over 2,000 characters
LEGEND_LABEL = 30  # characters of an objective's title in the legend
ROW_LABEL = 32  # characters of a heat map's row label

_FONTS = FilePath(matplotlib.get_data_path()) / "fonts" / "ttf"
REGULAR = _FONTS / "DejaVuSans.ttf"
BOLD = _FONTS / "DejaVuSans-Bold.ttf"

PANEL = "#ffffff"  # opaque: see the module's docstring
BORDER = "#d0d0d0"
INK = "#1d1c1d"
MUTED = "#5e5e5e"
GRID = "#e6e6e6"
PACE = "#8a8a8a"
NO_DATA = "#f0f0f0"
# Okabe & Ito's palette without its yellow, which is too faint on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINE_STYLES: tuple[LineStyleType, ...] = (
    "-",
    (0, (6, 2)),
    (0, (7, 2, 1.5, 2)),
    (0, (3, 1.5)),
)
PROJECTION: LineStyleType = (0, (1, 1.5))  # dotted, for every series: a projection is no report
_EXACT = [
    [round(c * 255) for c in to_rgb(colour)]
    for colour in (PANEL, INK, MUTED, GRID, PACE, BORDER, NO_DATA, *PALETTE)
]
HEATMAP = "cividis"  # sequential and readable with any colour vision, also in grey


def _font(size: float, *, bold: bool = False) -> FontProperties:
    return FontProperties(fname=BOLD if bold else REGULAR, size=size)


TITLE_FONT = _font(13, bold=True)
TEXT_FONT = _font(10)
SMALL_FONT = _font(9)


@dataclass(frozen=True, slots=True)
class Style:
    colour: str
    marker: str
    line: LineStyleType


def style(index: int) -> Style:
    """The n-th series' colour, marker and line style: each cycles on its own, so two series
    differ in at least their marker for the first 8 and in one of the three for 56."""
    return Style(
        PALETTE[index % len(PALETTE)],
        MARKERS[index % len(MARKERS)],
        LINE_STYLES[index % len(LINE_STYLES)],
    )


# ---- drawing --------------------------------------------------------------------------------


def draw(spec: ChartSpec) -> Image:
    """The chart as a PNG with its alt text and one-line summary."""
    if isinstance(spec, ProgressChart):
        figure = _progress_figure(spec)
    elif isinstance(spec, KrChart):
        figure = _kr_figure(spec)
    else:
        figure = _heatmap_figure(spec)
    png, width, height = _png(figure)
    return Image(
        png=png,
        alt=alt_text(spec),
        name=f"{spec.name}.png",
        width=width,
        height=height,
        title=spec.title,
        summary=summary(spec),
    )


def _figure(height: int = HEIGHT) -> Figure:
    figure = Figure(
        figsize=(WIDTH / DPI, height / DPI),
        dpi=DPI,
        facecolor=PANEL,
        edgecolor=BORDER,
        linewidth=1.0,  # a frame, so the white panel has an edge in a white chat theme
    )
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> tuple[bytes, int, int]:
    """The figure drawn, reduced to a palette, compressed; no metadata (no "Software", no
    date), so the bytes depend on the drawing alone."""
    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    canvas.draw()  # type: ignore[no-untyped-call]  # (matplotlib's stubs leave these out)
    width, height = canvas.get_width_height()
    pixels = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    rgb = PilImage.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
    reduced = rgb.convert("RGB").quantize(
        COLOURS, method=PilImage.Quantize.FASTOCTREE, dither=PilImage.Dither.NONE
    )
    reduced.putpalette(_snapped((reduced.getpalette() or [])[: 3 * COLOURS]))
    out = io.BytesIO()
    reduced.save(out, format="PNG", compress_level=6)  # 9 or optimize: 8% smaller, +15 ms
    return out.getvalue(), width, height


def _snapped(palette: list[int]) -> list[int]:
    """The palette with each entry near one of the colours drawn with set to it exactly: the
    quantiser averages its buckets, which turns a white panel off-white."""
    out = list(palette)
    for i in range(0, len(out) - 2, 3):
        entry = out[i : i + 3]
        for exact in _EXACT:
            if sum((a - b) ** 2 for a, b in zip(entry, exact, strict=True)) <= 3 * 8**2:
                out[i : i + 3] = exact
                break
    return out


def _title(figure: Figure, title: str, subtitle: str = "") -> None:
    top = 1 - 14 / figure.bbox.height  # 14 pixels below the top, whatever the height
    figure.text(
        0.015,
        top,
        _short(title, 80),
        fontproperties=TITLE_FONT,
        color=INK,
        va="top",
        parse_math=False,
    )
    if subtitle:
        figure.text(
            0.985,
            top - 2 / figure.bbox.height,
            subtitle,
            fontproperties=SMALL_FONT,
            color=MUTED,
            va="top",
            ha="right",
            parse_math=False,
        )


def _frame(ax: Axes) -> None:
    ax.set_facecolor(PANEL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(BORDER)
        ax.spines[side].set_linewidth(1.0)
    _no_ticks(ax)


def _no_ticks(ax: Axes) -> None:
    """No matplotlib ticks: each is a dozen artists, and all of them take as long to make
    as the rest of a chart. `_x_labels` and `_y_labels` write the labels."""
    ax.set_xticks([])
    ax.set_yticks([])


def _x_labels(ax: Axes, at: Sequence[float], labels: Sequence[str], *, top: bool = False) -> None:
    offset = ScaledTranslation(0, (5 if top else -5) / 72, ax.figure.dpi_scale_trans)
    where = ax.get_xaxis_transform() + offset
    for x, label in zip(at, labels, strict=True):
        ax.text(
            x,
            1.0 if top else 0.0,
            label,
            transform=where,
            ha="center",
            va="bottom" if top else "top",
            fontproperties=SMALL_FONT,
            color=INK,
            parse_math=False,
            clip_on=False,
        )


def _y_labels(ax: Axes, at: Sequence[float], labels: Sequence[str], *, grid: bool = True) -> None:
    offset = ScaledTranslation(-5 / 72, 0, ax.figure.dpi_scale_trans)
    where = ax.get_yaxis_transform() + offset
    for y, label in zip(at, labels, strict=True):
        ax.text(
            0.0,
            y,
            label,
            transform=where,
            ha="right",
            va="center",
            fontproperties=SMALL_FONT,
            color=INK,
            parse_math=False,
            clip_on=False,
        )
    if grid:
        ax.hlines(
            list(at),
            0.0,
            1.0,
            transform=ax.get_yaxis_transform(),
            colors=GRID,
            linewidth=1.0,
            zorder=0.5,
        )


def _x(day: date) -> float:
    return float(day.toordinal())


def _date_ticks(ax: Axes, start: date, end: date, locale: str) -> None:
    """Month starts between the cycle's ends (every few for a long cycle), or weeks for a
    short one, labelled "1 Oct" in the locale."""
    days = max(1, (end - start).days)
    months = []
    day = date(start.year, start.month, 1)
    while day <= end:
        if start < day:
            months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    ticks = [start, *months]
    if len(ticks) < 3:
        ticks = [start + timedelta(days=d) for d in range(0, days + 1, 7 if days <= 42 else 14)]
    while len(ticks) > 7:
        ticks = ticks[::2]
    if (end - ticks[-1]).days > days * 0.12:  # else the last tick stands for the end
        ticks.append(end)
    labels = [str(format_date(d, "d MMM", locale=locale)) for d in ticks]
    _x_labels(ax, [_x(d) for d in ticks], labels)


def _value_ticks(ax: Axes, low: float, high: float, unit: str, locale: str) -> None:
    locator = MaxNLocator(nbins=5, steps=[1, 2, 5, 10])
    ticks = [float(t) for t in locator.tick_values(low, high) if low <= t <= high]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(high - low) or 1.0
    labels = [fmt_value(t, unit, span=step * 20, locale=locale) for t in ticks]
    _y_labels(ax, ticks, labels)


def _today(ax: Axes, today: date, start: date, end: date) -> None:
    if not start <= today <= end:
        return
    ax.axvline(_x(today), color=INK, linewidth=1.0, linestyle="-", zorder=1)
    ax.text(
        _x(today),
        1.0,
        " today",
        transform=ax.get_xaxis_transform(),
        color=INK,
        fontproperties=SMALL_FONT,
        va="bottom",
        ha="center",
        parse_math=False,
    )


def _track(ax: Axes, track: Track, look: Style, end: date, scale: float, *, steps: bool) -> None:
    """A series' history, its dotted projection to `end` and the cone of its band."""
    xs = [_x(d) for d, _ in track.history]
    ys = [v * scale for _, v in track.history]
    if xs:
        ax.plot(
            xs,
            ys,
            color=look.colour,
            linestyle=look.line,
            linewidth=2.0,
            marker=look.marker,
            markersize=6,
            markeredgecolor=PANEL,
            markeredgewidth=0.8,
            drawstyle="steps-post" if steps else "default",
            zorder=3,
        )
    if track.projected is None:
        return
    at = _x(end)
    projected = track.projected * scale
    low = (track.low if track.low is not None else track.projected) * scale
    high = (track.high if track.high is not None else track.projected) * scale
    if xs and xs[-1] < at:
        ax.add_patch(
            Polygon(
                [(xs[-1], ys[-1]), (at, high), (at, low)],
                closed=True,
                facecolor=look.colour,
                alpha=0.14,
                edgecolor="none",
                zorder=2,
            )
        )
        ax.plot(
            [xs[-1], at],
            [ys[-1], projected],
            color=look.colour,
            linestyle=PROJECTION,
            linewidth=2.0,
            zorder=3,
        )
    ax.plot(
        [at, at], [low, high], color=look.colour, linewidth=2.0, solid_capstyle="butt", zorder=3
    )
    ax.plot(
        [at],
        [projected],
        color=look.colour,
        marker=look.marker,
        markersize=7,
        markerfacecolor=PANEL,
        markeredgewidth=1.6,
        zorder=4,
    )


def _legend(ax: Axes, handles: Sequence[Line2D | Patch], size: float = 9) -> None:
    legend = ax.legend(
        handles=list(handles),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        prop=_font(size),
        frameon=False,
        handlelength=2.6,
        borderaxespad=0.0,
        labelcolor=INK,
        labelspacing=0.6,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)


def _series_handle(look: Style, label: str) -> Line2D:
    """A legend entry for a series: its colour, line style and marker, as drawn."""
    return Line2D(
        [], [], color=look.colour, linestyle=look.line, linewidth=2.0, marker=look.marker,
        markersize=6, markeredgecolor=PANEL, label=label,
    )  # fmt: skip


def _projection_handle(label: str) -> Line2D:
    return Line2D([], [], color=MUTED, linestyle=PROJECTION, linewidth=2.0, label=label)


def _empty(ax: Axes, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontproperties=TEXT_FONT,
        color=MUTED,
        parse_math=False,
        zorder=5,
        bbox={"facecolor": PANEL, "edgecolor": "none", "pad": 4},
    )


def _x_limits(ax: Axes, start: date, end: date, tracks: Sequence[Track]) -> None:
    first = min([start, *(d for t in tracks for d, _ in t.history[:1])])
    last = max([end, *(d for t in tracks for d, _ in t.history[-1:])])
    pad = max(1.0, (last - first).days * 0.02)
    ax.set_xlim(_x(first) - pad, _x(last) + pad)


def _progress_figure(spec: ProgressChart) -> Figure:
    figure = _figure()
    ax = figure.add_axes((0.07, 0.1, 0.6, 0.76))
    _frame(ax)
    _title(figure, spec.title, f"{_elapsed_words(spec.start, spec.end, spec.today)}")
    ax.plot(
        [_x(spec.start), _x(spec.end)],
        [0, 100],
        color=PACE,
        linestyle=(0, (5, 3)),
        linewidth=1.5,
        zorder=1,
    )
    handles: list[Line2D | Patch] = []
    for n, track in enumerate(spec.tracks):
        look = style(n)
        _track(ax, track, look, spec.end, 100.0, steps=True)
        handles.append(_series_handle(look, _short(track.label, LEGEND_LABEL)))
    handles.append(
        Line2D([], [], color=PACE, linestyle=(0, (5, 3)), linewidth=1.5, label="expected pace")
    )
    if any(t.projected is not None for t in spec.tracks):
        handles.append(_projection_handle("projected, with range"))
    _today(ax, spec.today, spec.start, spec.end)
    values = [v for t in spec.tracks for v in (*(v for _, v in t.history), t.high) if v is not None]
    top = max([1.0, *values]) * 100
    bottom = min([0.0, *values]) * 100
    ax.set_ylim(bottom - 4, top + 6)
    shares = list(range(0, int(top) + 1, 25))
    _y_labels(ax, [float(v) for v in shares], [f"{v}%" for v in shares])
    _x_limits(ax, spec.start, spec.end, spec.tracks)
    _date_ticks(ax, spec.start, spec.end, DEFAULT_LOCALE)
    if not any(t.history for t in spec.tracks):
        _empty(ax, "No check-ins yet" if spec.tracks else "No objectives")
    _legend(ax, handles, 9 if len(handles) <= 12 else 7)
    return figure


def _kr_figure(spec: KrChart) -> Figure:
    figure = _figure()
    ax = figure.add_axes((0.1, 0.1, 0.57, 0.76))
    _frame(ax)
    _title(figure, spec.title, _elapsed_words(spec.start, spec.end, spec.today))
    track, unit, locale = spec.track, spec.unit, spec.locale
    look = style(0)
    ax.plot(
        [_x(spec.start), _x(spec.end)],
        [spec.start_value, spec.target],
        color=PACE,
        linestyle=(0, (5, 3)),
        linewidth=1.5,
        zorder=1,
    )
    ax.axhline(
        spec.target, color=PALETTE[2], linewidth=1.5, linestyle=(0, (7, 2, 1.5, 2)), zorder=1
    )
    ax.plot(
        [_x(spec.start)],
        [spec.start_value],
        marker="o",
        markersize=6,
        color=PACE,
        markerfacecolor=PANEL,
        markeredgewidth=1.5,
        zorder=3,
    )
    _track(ax, track, look, spec.end, 1.0, steps=False)
    _today(ax, spec.today, spec.start, spec.end)
    values = [spec.start_value, spec.target, *(v for _, v in track.history)]
    values += [v for v in (track.projected, track.low, track.high) if v is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    ax.set_ylim(low - pad, high + pad)
    _value_ticks(ax, low - pad, high + pad, unit, locale)
    span = spec.span if spec.span is not None else spec.target - spec.start_value
    target = fmt_value(spec.target, unit, span=span, locale=locale)
    start = fmt_value(spec.start_value, unit, span=span, locale=locale)
    # At the left: the projection's band ends at the right, often at the target.
    above = ScaledTranslation(4 / 72, 3 / 72, figure.dpi_scale_trans)
    ax.text(
        0.0,
        spec.target,
        f"target {target}",
        transform=ax.get_yaxis_transform() + above,
        ha="left",
        va="bottom",
        fontproperties=SMALL_FONT,
        color=INK,
        parse_math=False,
    )
    _x_limits(ax, spec.start, spec.end, (track,))
    _date_ticks(ax, spec.start, spec.end, locale)
    handles: list[Line2D | Patch] = [
        _series_handle(look, "reported"),
        Line2D(
            [],
            [],
            color=PALETTE[2],
            linestyle=(0, (7, 2, 1.5, 2)),
            linewidth=1.5,
            label=f"target {target}",
        ),
        Line2D(
            [],
            [],
            color=PACE,
            linestyle=(0, (5, 3)),
            linewidth=1.5,
            marker="o",
            markerfacecolor=PANEL,
            markevery=[0],
            label=f"expected pace from {start}",
        ),
    ]
    if track.projected is not None:
        handles.append(_projection_handle("projected, with range"))
    if not track.history:
        _empty(ax, "No check-ins yet")
    _legend(ax, handles)
    return figure


ROW_HEIGHT = 32  # pixels per heat map row
WEEK_LABEL = 50  # pixels a week's label needs ("28 Sep")
HEAT_TOP, HEAT_BOTTOM = 78, 22


def heatmap_height(rows: int) -> int:
    """A heat map is as tall as its rows make it (at least half the other charts)."""
    return max(HEIGHT // 2, HEAT_TOP + HEAT_BOTTOM + ROW_HEIGHT * max(1, rows))


def _heatmap_figure(spec: HeatmapChart) -> Figure:
    height = heatmap_height(len(spec.rows))
    figure = _figure(height)
    _title(figure, spec.title, "share of prompts answered on time, %")
    left, right = 0.3, 0.985
    bottom = HEAT_BOTTOM / height
    top = 1 - HEAT_TOP / height
    if not spec.rows or not spec.weeks:
        left = 0.015  # the message in the middle of the panel
    ax = figure.add_axes((left, bottom, right - left, top - bottom))
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_facecolor(PANEL)
    _no_ticks(ax)
    rows, weeks = len(spec.rows), len(spec.weeks)
    if not rows or not weeks:
        _empty(ax, "No prompts in these weeks")
        return figure
    colours = _cmap()
    data = [[math.nan if s is None else s for s in row] for row in spec.shares]
    ax.imshow(
        data,
        cmap=colours,
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
        extent=(-0.5, weeks - 0.5, rows - 0.5, -0.5),
    )
    blank = [(w, r) for r, row in enumerate(spec.shares) for w, s in enumerate(row) if s is None]
    if blank:
        ax.add_collection(
            PatchCollection(
                [Rectangle((w - 0.5, r - 0.5), 1, 1) for w, r in blank],
                facecolor=NO_DATA,
                edgecolor="none",
                hatch="///",
                hatchcolor="#c4c4c4",
                linewidth=0,
            )
        )
    # The cells' numbers as one collection of glyph outlines: a text per cell costs a
    # millisecond each to lay out and draw, 80 cells most of the budget.
    size = _cell_font_size((right - left) * WIDTH / weeks)
    paths, centres, inks = [], [], []
    for r, row in enumerate(spec.shares):
        for w, share in enumerate(row):
            if share is None:
                paths.append(_glyphs("–", size))
                inks.append(MUTED)
            else:
                paths.append(_glyphs(f"{round(share * 100)}", size))
                shade = colours(max(0.0, min(1.0, share)))
                inks.append(INK if _light(shade) else PANEL)
            centres.append((w, r))
    ax.add_collection(
        PathCollection(
            paths,
            offsets=centres,
            offset_transform=ax.transData,
            transform=IdentityTransform(),
            facecolors=inks,
            edgecolors="none",
            linewidths=0,
        )
    )
    ax.hlines([r - 0.5 for r in range(rows + 1)], -0.5, weeks - 0.5, colors=PANEL, linewidth=2.0)
    ax.vlines([w - 0.5 for w in range(weeks + 1)], -0.5, rows - 0.5, colors=PANEL, linewidth=2.0)
    ax.set_xlim(-0.5, weeks - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    every = max(1, math.ceil(weeks * WEEK_LABEL / ((right - left) * WIDTH)))
    shown = list(range(0, weeks, every))
    _x_labels(ax, [float(w) for w in shown], [_monday(spec.weeks[w]) for w in shown], top=True)
    _y_labels(
        ax, [float(r) for r in range(rows)], [_short(r, ROW_LABEL) for r in spec.rows], grid=False
    )
    return figure


@functools.cache
def _glyphs(text: str, size: float) -> Path:
    """`text` in the cells' bold font as an outline in pixels, centred on (0, 0) (on the
    digits' height, so every number of a row sits on one baseline)."""
    font = _font(size, bold=True)
    outline = TextPath((0, 0), text, prop=font)
    box = outline.get_extents()
    digits = TextPath((0, 0), "0", prop=font).get_extents()
    shift = Affine2D().translate(-(box.x0 + box.x1) / 2, -(digits.y0 + digits.y1) / 2)
    return shift.scale(DPI / 72).transform_path(outline)


def _cell_font_size(cell: float) -> float:
    """Points for a cell `cell` pixels wide: "100" fits with a margin."""
    return max(5.0, min(9.0, cell / 3.8))


def _cmap() -> Colormap:
    return matplotlib.colormaps[HEATMAP].with_extremes(bad=NO_DATA)  # a copy: no global state


def _light(rgba: tuple[float, float, float, float]) -> bool:
    r, g, b = to_rgb(rgba)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45


def _monday(day: date) -> str:
    return str(format_date(day, "d MMM", locale=DEFAULT_LOCALE))


# ---- words ----------------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word where one is near, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:·-–") + "…"


def _elapsed(start: date, end: date, today: date) -> float:
    days = (end - start).days
    if days <= 0:
        return 1.0 if today >= end else 0.0
    return max(0.0, min(1.0, (today - start).days / days))


def _elapsed_words(start: date, end: date, today: date) -> str:
    return f"{_pct(_elapsed(start, end, today))} of the cycle elapsed"


def _pct(share: float, locale: str = DEFAULT_LOCALE) -> str:
    return fmt_value(share * 100, "%", span=100, locale=locale)


def _pct_range(low: float | None, high: float | None, locale: str = DEFAULT_LOCALE) -> str:
    if low is None or high is None:
        return ""
    return f" ({fmt_value(low * 100, span=100, locale=locale)}–{_pct(high, locale)})"


def _bounded(intro: str, parts: Sequence[str], outro: str = "") -> str:
    """`intro` and as many of `parts` as fit in `ALT_LIMIT` characters, "and 3 more"."""
    kept: list[str] = []
    for n, part in enumerate(parts):
        rest = len(parts) - n
        if len(intro) + sum(len(k) + 2 for k in kept) + len(part) + len(outro) + 20 > ALT_LIMIT:
            kept.append(f"and {rest} more")
            break
        kept.append(part)
    return intro + "; ".join(kept) + outro


def alt_text(spec: ChartSpec) -> str:
    """What the chart shows, in words a screen reader reads out: every series with its
    numbers, not "a chart"."""
    if isinstance(spec, ProgressChart):
        return _progress_alt(spec)
    if isinstance(spec, KrChart):
        return _kr_alt(spec)
    return _heatmap_alt(spec)


def _progress_alt(spec: ProgressChart) -> str:
    locale, today = DEFAULT_LOCALE, spec.today
    end = fmt_day(spec.end, locale, today)
    elapsed = _elapsed(spec.start, spec.end, today)
    intro = (
        f"{spec.title}: objectives from {fmt_day(spec.start, locale, today)} to {end}, "
        f"{_pct(elapsed)} of the cycle elapsed"
    )
    if not spec.tracks:
        return f"{intro}; no objectives."
    parts = []
    for t in spec.tracks:
        said = f"{t.label} at {_pct(t.history[-1][1])}" if t.history else f"{t.label}: no check-ins"
        if t.projected is not None:
            said += f", projected {_pct(t.projected)}{_pct_range(t.low, t.high)} by {end}"
        parts.append(said)
    return _bounded(f"{intro}: ", parts, f"; expected pace {_pct(elapsed)}.")


def _kr_alt(spec: KrChart) -> str:
    locale, today, t = spec.locale, spec.today, spec.track
    span = spec.span if spec.span is not None else spec.target - spec.start_value

    def value(v: float) -> str:
        return fmt_value(v, spec.unit, span=span, locale=locale)

    end = fmt_day(spec.end, locale, today)
    elapsed = _elapsed(spec.start, spec.end, today)
    said = [
        f"{spec.title}: from {value(spec.start_value)} to a target of {value(spec.target)} "
        f"by {end}, {_pct(elapsed, locale)} of the cycle elapsed"
    ]
    if t.history:
        day, last = t.history[-1]
        checkins = f"{len(t.history)} check-in{'s' if len(t.history) != 1 else ''}"
        said.append(f"{value(last)} on {fmt_day(day, locale, today)} ({checkins})")
    else:
        said.append("no check-ins yet")
    said.append(f"expected pace {value(spec.start_value + span * elapsed)} today")
    if t.projected is not None:
        band = ""
        if t.low is not None and t.high is not None:
            band = f" ({value(t.low)} to {value(t.high)})"
        said.append(f"projected {value(t.projected)}{band} by {end}")
    return "; ".join(said) + "."


def _heatmap_alt(spec: HeatmapChart) -> str:
    if not spec.rows or not spec.weeks:
        return f"{spec.title}: no prompts in these weeks."
    first, last = _monday(spec.weeks[0]), _monday(spec.weeks[-1])
    intro = (
        f"{spec.title}: share of prompts answered on time, per week from {first} to {last}, "
        f"{len(spec.rows)} row{'s' if len(spec.rows) != 1 else ''}; "
        "“none” where nobody was asked: "
    )
    parts = [
        f"{row} " + ", ".join("none" if s is None else _pct(s) for s in shares)
        for row, shares in zip(spec.rows, spec.shares, strict=True)
    ]
    return _bounded(intro, parts, ".")


def summary(spec: ChartSpec) -> str:
    """One line for where no image can be shown: each series as a sparkline and its numbers,
    "Win the mid-market ▁▂▄▅ 45% → 52%"."""
    if isinstance(spec, ProgressChart):
        parts = [_track_summary(t, _pct) for t in spec.tracks]
        return " · ".join(parts) if parts else f"{spec.title}: no objectives"
    if isinstance(spec, KrChart):
        span = spec.span if spec.span is not None else spec.target - spec.start_value

        def value(v: float) -> str:
            return fmt_value(v, spec.unit, span=span, locale=spec.locale)

        return f"{_track_summary(spec.track, value)} (target {value(spec.target)})"
    parts = []
    for row, shares in zip(spec.rows, spec.shares, strict=True):
        known = [s for s in shares if s is not None]
        parts.append(
            f"{_short(row, ROW_LABEL)} {sparkline(known)} {_pct(known[-1])}"
            if known
            else f"{_short(row, ROW_LABEL)} –"
        )
    return " · ".join(parts) if parts else f"{spec.title}: no prompts"


def _track_summary(track: Track, value: Any) -> str:
    label = _short(track.label, 40)
    if not track.history:
        head = f"{label} no check-ins"
    else:
        values = [v for _, v in track.history]
        head = f"{label} {sparkline(values)} {value(values[-1])}"
    return head if track.projected is None else f"{head} → {value(track.projected)}"


def warm_up() -> None:
    """A worker's first chart loads the fonts and matplotlib's caches: done at its start."""
    matplotlib.rcdefaults()  # a worker draws with matplotlib's own defaults, whatever the rc file
    draw(HeatmapChart("warm-up", "warm-up", ("a",), (date(2026, 1, 5),), ((0.5,),)))
