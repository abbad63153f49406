"""The results page's chart: each variant's cumulative conversion rate day by day, with its
95 % Wilson interval as a band, in an SVG viewBox drawn by the template.

Built on the core's chart geometry (``flexoraa/charts.py``): the same viewBox height, column
width and round scale as the other server-side charts, here in whole percent so the axis
reads "20 %", "10 %", "0 %". No ORM: it takes the running totals a selector counted. The
interval is statsmodels' (``proportion_confint(method="wilson")``), which stays inside 0-100 %
and is honest at small n, where the normal approximation is not.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from statsmodels.stats.proportion import proportion_confint

from flexoraa.charts import HEIGHT, SLOT, ScaledChart, nice_scale

CONFIDENCE = 0.95
# Series styles, control first; past the fourth variant they repeat (the legend still names
# each one).
STYLES = 4


class RunningTotals(Protocol):
    """One variant's totals at the end of each day (``selectors.VariantDays`` is one)."""

    n: Sequence[int]
    conversions: Sequence[int]


@dataclass(frozen=True)
class RatePoint:
    day: date
    x: int
    y: int
    low_y: int
    high_y: int
    n: int
    conversions: int
    rate: float
    low: float
    high: float

    # In percent, for the labels and the table.
    @property
    def percent(self) -> float:
        return self.rate * 100

    @property
    def low_percent(self) -> float:
        return self.low * 100

    @property
    def high_percent(self) -> float:
        return self.high * 100


@dataclass(frozen=True)
class RateSeries:
    key: str
    name: str
    is_control: bool
    style: int  # 0 for control, then 1, 2, 3 …: the template's colour and dash
    points: tuple[RatePoint, ...]  # only the days the variant had subjects

    @property
    def last(self) -> RatePoint | None:
        return self.points[-1] if self.points else None

    def _xs(self) -> list[int]:
        # A lone point becomes a short level stroke across its day, so it is seen at all.
        if len(self.points) == 1:
            x = self.points[0].x
            return [x - SLOT // 2, x + SLOT // 2]
        return [point.x for point in self.points]

    @property
    def line_points(self) -> str:
        ys = [point.y for point in self.points] * (2 if len(self.points) == 1 else 1)
        return " ".join(f"{x},{y}" for x, y in zip(self._xs(), ys, strict=True))

    @property
    def band_points(self) -> str:
        """The interval as a polygon: along the upper bounds, back along the lower ones."""
        repeat = 2 if len(self.points) == 1 else 1
        highs = [point.high_y for point in self.points] * repeat
        lows = [point.low_y for point in self.points] * repeat
        xs = self._xs()
        upper = [f"{x},{y}" for x, y in zip(xs, highs, strict=True)]
        lower = [f"{x},{y}" for x, y in zip(reversed(xs), reversed(lows), strict=True)]
        return " ".join(upper + lower)


@dataclass(frozen=True)
class Marker:
    """A day something happened to a variant (a roll-back), drawn as a vertical line."""

    day: date
    x: int
    label: str


@dataclass(frozen=True)
class RateChart(ScaledChart):
    days: tuple[date, ...]
    series: tuple[RateSeries, ...]
    markers: tuple[Marker, ...]
    width: int
    height: int
    scale: int  # the percent at the top of the chart

    @property
    def middle_day(self) -> date | None:
        return self.days[len(self.days) // 2] if len(self.days) > 2 else None

    @property
    def has_data(self) -> bool:
        return any(series.points for series in self.series)

    @property
    def rows(self) -> tuple[tuple[date, tuple[RatePoint | None, ...]], ...]:
        """The data table: each day with each series' point (None before its first
        subject)."""
        by_day = [{point.day: point for point in series.points} for series in self.series]
        return tuple((day, tuple(points.get(day) for points in by_day)) for day in self.days)


def wilson_interval(conversions: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of a rate, as fractions."""
    low, high = proportion_confint(conversions, n, alpha=1 - CONFIDENCE, method="wilson")
    return max(0.0, float(low)), min(1.0, float(high))


def _y(fraction: float, scale: int) -> int:
    return HEIGHT - round(HEIGHT * fraction * 100 / scale)


def rate_chart(
    days: Sequence[date],
    series: Sequence[tuple[str, str, bool, RunningTotals]],
    markers: Sequence[tuple[date, str]] = (),
) -> RateChart:
    """The chart of ``series``, each ``(key, name, is_control, totals)`` with one running
    total per day of ``days``. The scale tops out at the highest upper bound, rounded up to
    a whole percent with a whole half; a day without subjects has no point (no rate)."""
    rates = []
    for _key, _name, _control, totals in series:
        if len(totals.n) != len(days) or len(totals.conversions) != len(days):
            raise ValueError("Each series needs one running total per day.")
        rates.append([(n, converted, converted / n, *wilson_interval(converted, n)) if n else None
                      for n, converted in zip(totals.n, totals.conversions, strict=True)])
    peak = max((rate[4] for points in rates for rate in points if rate), default=0.0)
    scale = nice_scale(math.ceil(round(peak * 100, 6)))
    built = []
    others = 0
    for (key, name, is_control, _totals), daily in zip(series, rates, strict=True):
        if is_control:
            style = 0
        else:
            others += 1
            style = (others - 1) % (STYLES - 1) + 1
        points = []
        for index, (day, point) in enumerate(zip(days, daily, strict=True)):
            if point is None:
                continue
            n, converted, rate, low, high = point
            points.append(RatePoint(
                day=day, x=index * SLOT + SLOT // 2, y=_y(rate, scale), low_y=_y(low, scale),
                high_y=_y(high, scale), n=n, conversions=converted, rate=rate, low=low,
                high=high))
        built.append(RateSeries(key=key, name=name, is_control=is_control, style=style,
                                points=tuple(points)))
    index_of = {day: index for index, day in enumerate(days)}
    return RateChart(
        days=tuple(days), series=tuple(built), scale=scale, height=HEIGHT,
        width=max(len(days), 1) * SLOT,
        markers=tuple(Marker(day=day, x=index_of[day] * SLOT + SLOT // 2, label=label)
                      for day, label in markers if day in index_of),
    )
