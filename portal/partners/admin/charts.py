"""Daily bar charts drawn on the server, as SVG geometry for a template (no script, no library).

Each day has two columns side by side: tokens issued (solid) and requests denied (striped), each
stacked by series (an API or an app), on one scale. The chart's coordinates are those of its
``viewBox``: the SVG scales to the width it is given. What the bars show is also said in words
(the legend's totals, the summary and a day-by-day table), for those who do not see them.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 400, 200  # about the size it is shown at, so that its labels read at their size
LEFT, RIGHT, TOP, BOTTOM = 36, 6, 10, 24  # room for the scale's labels and the days'
# Colour-blind-safe hues that stay apart on white (the Okabe-Ito palette, darkened for contrast),
# and a neutral grey for everything outside the busiest.
PALETTE = ("#2451c6", "#c76e00", "#007a5a", "#b0417e", "#0072b2")
OTHERS_COLOR = "#6b7280"


def plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def compact(value: int) -> str:
    """A scale's label in the room it has: 950, 1.5k, 20k, 3M."""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:g}{unit}"
    return str(value)


def nice_scale(peak: int) -> tuple[int, int]:
    """The scale's top and the step between its lines: about four steps of 1, 2 or 5 times a power
    of ten, the top the first line at or above ``peak`` (so the busiest day nearly fills the chart)."""
    if peak <= 1:
        return 1, 1
    rough = peak / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return math.ceil(peak / step) * step, step


@dataclass(frozen=True)
class Series:
    """One API or app, as the caller names it; ``key`` None for everything else (drawn in grey)."""

    key: str | None
    label: str
    url: str | None = None


@dataclass(frozen=True)
class LegendEntry:
    label: str
    url: str | None
    color: str
    pattern_id: str  # the stripes of its denied bars
    issued: int
    denied: int

    @property
    def totals(self) -> str:
        return f"{plural(self.issued, 'token', 'tokens')} issued, {plural(self.denied, 'request', 'requests')} denied"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class Tick:
    at: float  # x for a day, y for the scale
    label: str


@dataclass(frozen=True)
class DayRow:
    label: str
    issued: int
    denied: int


@dataclass(frozen=True)
class BarChart:
    chart_id: str
    title: str
    legend: list[LegendEntry]
    rects: list[Rect]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    rows: list[DayRow]
    issued: int
    denied: int
    days: int
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not (self.issued or self.denied)

    @property
    def summary(self) -> str:
        return (
            f"{plural(self.issued, 'token', 'tokens')} issued and "
            f"{plural(self.denied, 'request', 'requests')} denied in the last {self.days} days"
        )


def daily_bar_chart(
    *,
    chart_id: str,
    title: str,
    days: list[date],
    series: list[Series],
    values: Mapping[tuple[date, str | None], tuple[int, int]],
) -> BarChart:
    """The chart of ``values`` ((day, series key) → (issued, denied)) over ``days``, oldest first."""
    colors = [OTHERS_COLOR if item.key is None else PALETTE[n % len(PALETTE)] for n, item in enumerate(series)]
    patterns = [f"{chart_id}-stripes-{n}" for n in range(len(series))]
    cells = [[values.get((day, item.key), (0, 0)) for item in series] for day in days]
    peak = max((max(sum(c[0] for c in row), sum(c[1] for c in row)) for row in cells), default=0)
    top, step = nice_scale(peak)
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar = min(14.0, slot * 0.38)
    gap = max(1.0, slot * 0.04)

    rects: list[Rect] = []
    for index, (day, row) in enumerate(zip(days, cells, strict=True)):
        center = LEFT + slot * (index + 0.5)
        for column, (x, kind) in enumerate(((center - gap / 2 - bar, "issued"), (center + gap / 2, "denied"))):
            base = float(HEIGHT - BOTTOM)
            for n, item in enumerate(series):
                count = row[n][column]
                if not count:
                    continue
                height = count / top * plot_height
                base -= height
                fill = colors[n] if kind == "issued" else f"url(#{patterns[n]})"
                if kind == "issued":
                    noun = f"{plural(count, 'token', 'tokens')} issued"
                else:
                    noun = f"{plural(count, 'request', 'requests')} denied"
                rects.append(
                    Rect(
                        x=round(x, 2),
                        y=round(base, 2),
                        width=round(bar, 2),
                        height=round(height, 2),
                        fill=fill,
                        title=f"{day:%a} {day.day} {day:%b}, {item.label}: {noun}",
                    )
                )

    scale = list(range(0, top + 1, step))
    y_ticks = [Tick(at=round(HEIGHT - BOTTOM - value / top * plot_height, 2), label=compact(value)) for value in scale]
    every = 1 if len(days) <= 7 else 2  # every other day on a fortnight, today always named
    named = [(index, day) for index, day in enumerate(days) if (len(days) - 1 - index) % every == 0]
    # The month with the first day named and wherever it changes; the day of the month elsewhere.
    x_ticks = [
        Tick(
            at=round(LEFT + slot * (index + 0.5), 2),
            label=f"{day.day} {day:%b}" if n == 0 or day.month != named[n - 1][1].month else str(day.day),
        )
        for n, (index, day) in enumerate(named)
    ]
    legend = [
        LegendEntry(
            label=item.label,
            url=item.url,
            color=colors[n],
            pattern_id=patterns[n],
            issued=sum(row[n][0] for row in cells),
            denied=sum(row[n][1] for row in cells),
        )
        for n, item in enumerate(series)
    ]
    rows = [
        DayRow(
            label=f"{day:%a} {day.day} {day:%b}",
            issued=sum(c[0] for c in row),
            denied=sum(c[1] for c in row),
        )
        for day, row in zip(days, cells, strict=True)
    ]
    return BarChart(
        chart_id=chart_id,
        title=title,
        legend=legend,
        rects=rects,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        rows=rows,
        issued=sum(entry.issued for entry in legend),
        denied=sum(entry.denied for entry in legend),
        days=len(days),
    )
