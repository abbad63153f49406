"""The usage chart's geometry: one bar a day in an SVG viewBox, drawn by the template.

No ORM and no drawing library: the page stays server-rendered, and what each bar says is a
number a test can read. Coordinates are whole viewBox units; the SVG stretches to its box
(``preserveAspectRatio="none"``), so the axis labels live in the HTML around it, where text
keeps its size on a phone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

HEIGHT = 1000  # viewBox units: fine enough that a bar's height is never visibly rounded
SLOT = 10  # viewBox units per day
GAP = 2  # between two bars

# Scales whose half is a whole number, so the middle label never reads "3.5 tokens".
SMALL_SCALES = (2, 4, 6, 8, 10)
STEPS = (10, 12, 14, 16, 20, 24, 30, 40, 50, 60, 80, 100)


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    scale: int  # the value at the top of the chart

    @property
    def half(self) -> int:
        return self.scale // 2

    @property
    def gridlines(self) -> tuple[int, ...]:
        """The y of the lines at the top, the middle and the bottom of the scale."""
        return (0, self.height // 2, self.height)


def nice_scale(peak: int) -> int:
    """The round value the chart tops out at: at or above ``peak``, with a whole half."""
    if peak <= SMALL_SCALES[-1]:
        return next(scale for scale in SMALL_SCALES if scale >= peak)
    magnitude = 10 ** (len(str(peak)) - 2)
    return next(step * magnitude for step in STEPS if step * magnitude >= peak)


def bar_chart(points: Sequence[tuple[date, int]]) -> BarChart:
    """One bar per ``(day, value)``, in order. A day with any value gets at least one unit of
    height, so a small day is never drawn as an idle one."""
    scale = nice_scale(max((value for _day, value in points), default=0))
    bars = []
    for index, (day, value) in enumerate(points):
        height = round(HEIGHT * value / scale)
        if value > 0:
            height = max(height, 1)
        bars.append(Bar(day=day, value=value, x=index * SLOT + GAP // 2, y=HEIGHT - height,
                        width=SLOT - GAP, height=height))
    return BarChart(bars=tuple(bars), width=max(len(points), 1) * SLOT, height=HEIGHT,
                    scale=scale)
