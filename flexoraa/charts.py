"""Chart geometry for the server-rendered pages: stacked bars and a line in an SVG viewBox,
drawn by the templates.

No ORM and no drawing library: pages stay server-rendered, and what each mark says is a number
a test can read. Coordinates are whole viewBox units; the SVG stretches to its box
(``preserveAspectRatio="none"``), so axis labels and the legend live in the HTML around it,
where text keeps its size on a phone, and lines use ``vector-effect="non-scaling-stroke"``.
The scale is a round top with a whole half; billing's usage chart uses it too.
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

HEIGHT = 1000  # viewBox units: fine enough that a bar's height is never visibly rounded
SLOT = 10  # viewBox units per column
GAP = 2  # between two bars

# Scales whose half is a whole number, so the middle label never reads "3.5 leads".
SMALL_SCALES = (2, 4, 6, 8, 10)
STEPS = (10, 12, 14, 16, 20, 24, 30, 40, 50, 60, 80, 100)


def nice_scale(peak: int) -> int:
    """The round value the chart tops out at: at or above ``peak``, with a whole half."""
    if peak <= SMALL_SCALES[-1]:
        return next(scale for scale in SMALL_SCALES if scale >= peak)
    magnitude = 10 ** (len(str(peak)) - 2)
    return next(step * magnitude for step in STEPS if step * magnitude >= peak)


@dataclass(frozen=True)
class Segment:
    """One series' part of a stacked bar."""

    series: str
    value: int
    y: int
    height: int


@dataclass(frozen=True)
class StackedBar:
    key: Hashable  # what the column stands for (a day)
    x: int
    width: int
    total: int
    segments: tuple[Segment, ...]  # bottom first; series with no value are left out


@dataclass(frozen=True)
class LinePoint:
    key: Hashable
    x: int
    y: int
    value: int


class ScaledChart:
    """What every chart's axis reads: its ``scale`` (the value at the top) and ``height``."""

    scale: int
    height: int

    @property
    def half(self) -> int:
        return self.scale // 2

    @property
    def gridlines(self) -> tuple[int, ...]:
        """The y of the lines at the top, the middle and the bottom of the scale."""
        return (0, self.height // 2, self.height)


@dataclass(frozen=True)
class StackedChart(ScaledChart):
    bars: tuple[StackedBar, ...]
    line: tuple[LinePoint, ...]
    width: int
    height: int
    scale: int  # the value at the top of the chart

    @property
    def line_points(self) -> str:
        """The line as an SVG ``points`` attribute."""
        return " ".join(f"{point.x},{point.y}" for point in self.line)


def _y(value: int, scale: int) -> int:
    return HEIGHT - round(HEIGHT * value / scale)


def stacked_chart(
    columns: Sequence[tuple[Hashable, Sequence[int]]], series: Sequence[str],
    line: Sequence[int] = (),
) -> StackedChart:
    """One bar per ``(key, values)`` column, its ``values`` stacked in the order of
    ``series`` (the first at the bottom), and an optional line with one value per column,
    on the same scale.

    Each part's top is placed from the running total, so a bar is exactly as tall as its
    total; a part with any value gets at least one unit, so a small one is never hidden.
    """
    if line and len(line) != len(columns):
        raise ValueError("The line needs one value per column.")
    peak = max([sum(values) for _key, values in columns] + list(line), default=0)
    scale = nice_scale(peak)
    bars = []
    for index, (key, values) in enumerate(columns):
        if len(values) != len(series):
            raise ValueError(f"Column {key!r} has {len(values)} values for {len(series)} series.")
        segments = []
        bottom = HEIGHT
        running = 0
        for name, value in zip(series, values, strict=True):
            running += value
            if value <= 0:
                continue
            top = max(0, min(_y(running, scale), bottom - 1))
            segments.append(Segment(series=name, value=value, y=top, height=bottom - top))
            bottom = top
        bars.append(StackedBar(key=key, x=index * SLOT + GAP // 2, width=SLOT - GAP,
                               total=sum(values), segments=tuple(segments)))
    points = tuple(
        LinePoint(key=key, x=index * SLOT + SLOT // 2, y=_y(value, scale), value=value)
        for index, ((key, _values), value) in enumerate(zip(columns, line, strict=False))
    )
    return StackedChart(bars=tuple(bars), line=points, width=max(len(columns), 1) * SLOT,
                        height=HEIGHT, scale=scale)
