"""The usage chart's geometry: one bar a day in an SVG viewBox, drawn by the template.

The scale and the viewBox units are the core's (``flexoraa/charts.py``), shared with the
home's trend chart. No ORM and no drawing library: the page stays server-rendered, and what
each bar says is a number a test can read. The SVG stretches to its box
(``preserveAspectRatio="none"``), so the axis labels live in the HTML around it, where text
keeps its size on a phone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flexoraa.charts import GAP, HEIGHT, SLOT, ScaledChart, nice_scale


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class BarChart(ScaledChart):
    bars: tuple[Bar, ...]
    width: int
    height: int
    scale: int  # the value at the top of the chart


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
