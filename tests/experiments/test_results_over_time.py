"""The results page's daily series and its chart: subjects and conversions accumulated day by
day in the tenant's time zone from the start, capped to the duration, in three queries
whatever the days and variants; and the chart's geometry, scale and Wilson bands."""

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from experiments import charts, selectors, services
from experiments.models import Assignment, Experiment, ExperimentStatus, Variant
from flexoraa.charts import HEIGHT, SLOT
from flexoraa.errors import NotFound
from tests.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
_subjects = itertools.count(1)
_keys = itertools.count(1)


# --- helpers shared with the page and browser tests ----------------------------------------

def started_on(experiment: Experiment, moment: datetime) -> Experiment:
    """Backdate the start (and keep the experiment running)."""
    Experiment.objects.filter(pk=experiment.pk).update(started_at=moment)
    experiment.refresh_from_db()
    return experiment


def assign(experiment: Experiment, variant_key: str, *, at: datetime, subject_id=None) -> int:
    """One subject assigned to ``variant_key`` at ``at``; returns its id. Rows are written
    as they are stored, to set their time and spread exactly."""
    subject = subject_id or next(_subjects)
    variant = Variant.objects.get(experiment=experiment, key=variant_key)
    row = Assignment.objects.create(organization=experiment.organization,
                                    experiment=experiment, subject_id=subject, variant=variant)
    Assignment.objects.filter(pk=row.pk).update(created_at=at)
    return subject


def observe(experiment: Experiment, subject_id: int, *, at: datetime, value=1.0, metric=None):
    return services.observation_record(
        org=experiment.organization, experiment=experiment, subject_id=subject_id,
        metric=metric or experiment.target_metric, value=value,
        idempotency_key=f"obs-{next(_keys)}", observed_at=at)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


@pytest.fixture
def today():
    return timezone.localdate(timezone=IST)


# --- the series ----------------------------------------------------------------------------

def test_subjects_and_conversions_accumulate_day_by_day_from_the_start(org, today):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=3), 10))
    day0, day1, day2 = (today - timedelta(days=d) for d in (3, 2, 1))
    first = assign(experiment, "control", at=local(day0, 11))
    assign(experiment, "control", at=local(day0, 12))
    scarce = assign(experiment, "scarcity", at=local(day0, 13))
    assign(experiment, "control", at=local(day1, 9))
    assign(experiment, "social-proof", at=local(day2, 9))
    # Converts on day 1; a second conversion later is the same subject, counted once.
    observe(experiment, first, at=local(day1, 15))
    observe(experiment, first, at=local(day2, 15))
    # A value of 0 is no conversion; the first value above 0 is.
    observe(experiment, scarce, at=local(day1, 10), value=0)
    observe(experiment, scarce, at=local(day2, 10), value=2)
    # Another metric is no conversion.
    observe(experiment, scarce, at=local(day0, 14), metric="error")

    series = selectors.experiment_results_over_time(org, experiment)

    assert series.days == (day0, day1, day2, today)
    by_key = {s.variant.key: s for s in series.variants}
    assert list(by_key) == ["control", "scarcity", "social-proof"]
    assert by_key["control"].n == (2, 3, 3, 3)
    assert by_key["control"].conversions == (0, 1, 1, 1)
    assert by_key["scarcity"].n == (1, 1, 1, 1)
    assert by_key["scarcity"].conversions == (0, 0, 1, 1)
    assert by_key["social-proof"].n == (0, 0, 1, 1)
    assert by_key["social-proof"].conversions == (0, 0, 0, 0)
    assert series.subjects == 5


def test_days_are_the_tenants_days_not_utcs(org, today):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=2), 8))
    day0, day1 = today - timedelta(days=2), today - timedelta(days=1)
    # 23:30 in Kolkata is 18:00 UTC the same day; 00:30 the next day is 19:00 UTC still on
    # day 0 in UTC, yet day 1 for the tenant.
    late = assign(experiment, "control", at=local(day0, 23, 30))
    assign(experiment, "control", at=local(day1, 0, 30))
    observe(experiment, late, at=local(day1, 0, 15))

    control = selectors.experiment_results_over_time(org, experiment).variants[0]

    assert control.n[:2] == (1, 2)
    assert control.conversions[:2] == (0, 1)


def test_the_last_day_equals_the_counts_the_results_are_computed_from(org, today):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=4), 9))
    for offset, key in enumerate(["control", "scarcity", "social-proof", "control",
                                  "scarcity", "control"]):
        subject = assign(experiment, key, at=local(today - timedelta(days=4 - offset % 4), 10))
        if offset % 2 == 0:
            observe(experiment, subject, at=local(today - timedelta(days=4 - offset % 4), 11))
    # A subject whose variant was rolled back moves to control: what it did in its old
    # variant is no conversion in control, in the series as in the results.
    moved = assign(experiment, "scarcity", at=local(today - timedelta(days=3), 10))
    observe(experiment, moved, at=local(today - timedelta(days=3), 11))
    Assignment.objects.filter(subject_id=moved).update(
        variant=Variant.objects.get(experiment=experiment, key="control"))

    series = selectors.experiment_results_over_time(org, experiment)
    counts = selectors.experiment_counts(org, experiment)

    assert {s.variant.pk: (s.n[-1], s.conversions[-1]) for s in series.variants} == counts


def test_the_series_stops_at_the_duration_while_the_experiment_is_still_running(org, today):
    experiment = make_experiment(org, duration_days=3)
    experiment = started_on(experiment, local(today - timedelta(days=10), 9))
    start_day = today - timedelta(days=10)
    assign(experiment, "control", at=local(start_day, 10))
    # After the third day's 09:00 the experiment is over: these are left out.
    late = assign(experiment, "control", at=local(start_day + timedelta(days=5), 10))
    early = assign(experiment, "scarcity", at=local(start_day + timedelta(days=1), 10))
    observe(experiment, early, at=local(start_day + timedelta(days=4), 10))
    observe(experiment, late, at=local(start_day + timedelta(days=5), 11))

    series = selectors.experiment_results_over_time(org, experiment)

    assert series.days == tuple(start_day + timedelta(days=d) for d in range(4))
    control, scarcity = series.variants[0], series.variants[1]
    assert control.n == (1, 1, 1, 1) and control.conversions == (0, 0, 0, 0)
    assert scarcity.n == (0, 1, 1, 1) and scarcity.conversions == (0, 0, 0, 0)


def test_a_stopped_experiment_ends_on_the_day_it_stopped(org, today):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=6), 9))
    stopped_at = local(today - timedelta(days=2), 12)
    Experiment.objects.filter(pk=experiment.pk).update(status=ExperimentStatus.STOPPED,
                                                       ended_at=stopped_at)
    experiment.refresh_from_db()
    subject = assign(experiment, "control", at=local(today - timedelta(days=5), 9))
    observe(experiment, subject, at=local(today - timedelta(days=2), 11))
    later = assign(experiment, "control", at=local(today - timedelta(days=2), 13))
    observe(experiment, later, at=local(today - timedelta(days=1), 13))

    series = selectors.experiment_results_over_time(org, experiment)

    assert series.days[0] == today - timedelta(days=6)
    assert series.days[-1] == today - timedelta(days=2)
    assert series.variants[0].n[-1] == 1 and series.variants[0].conversions[-1] == 1


def test_rows_dated_before_the_start_count_on_the_first_day(org, today):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=1), 9))
    subject = assign(experiment, "control", at=local(today - timedelta(days=3), 9))
    observe(experiment, subject, at=local(today - timedelta(days=2), 9))

    control = selectors.experiment_results_over_time(org, experiment).variants[0]

    assert control.n == (1, 1) and control.conversions == (1, 1)


def test_a_draft_has_no_days_and_an_experiment_without_subjects_has_zeros(org, today):
    draft = make_experiment(org, name="Draft", start=False)
    series = selectors.experiment_results_over_time(org, draft)
    assert series.days == () and series.subjects == 0
    assert [s.n for s in series.variants] == [(), (), ()]

    running = make_experiment(org, name="Fresh")
    series = selectors.experiment_results_over_time(org, running)
    assert series.days == (today,)
    assert [s.n for s in series.variants] == [(0,), (0,), (0,)]
    assert series.subjects == 0


def test_the_series_costs_three_queries_whatever_the_days_and_subjects(
    org, today, django_assert_num_queries
):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=1), 9))
    assign(experiment, "control", at=local(today - timedelta(days=1), 10))
    with django_assert_num_queries(3):
        selectors.experiment_results_over_time(org, experiment)

    longer = started_on(make_experiment(org, name="Longer"), local(today - timedelta(days=13), 9))
    for day in range(14):
        for key in ("control", "scarcity", "social-proof"):
            subject = assign(longer, key, at=local(today - timedelta(days=13 - day), 10))
            observe(longer, subject, at=local(today - timedelta(days=13 - day), 12))
    with django_assert_num_queries(3):
        series = selectors.experiment_results_over_time(org, longer,
                                                        now=local(today, 23, 59))
    assert len(series.days) == 14 and series.subjects == 42


def test_another_tenants_experiment_is_not_found(org, other_org):
    theirs = make_experiment(other_org)
    with pytest.raises(NotFound):
        selectors.experiment_results_over_time(org, theirs)


# --- the chart -----------------------------------------------------------------------------

class Totals:
    def __init__(self, n, conversions):
        self.n, self.conversions = n, conversions


DAYS = (date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3))


def test_each_point_is_the_cumulative_rate_with_statsmodels_wilson_interval():
    chart = charts.rate_chart(DAYS, [
        ("control", "Control", True, Totals((10, 40, 100), (1, 6, 12))),
        ("scarcity", "Scarcity-heavy", False, Totals((0, 20, 50), (0, 5, 9))),
    ])

    control, scarcity = chart.series
    assert (control.style, scarcity.style) == (0, 1)
    assert [p.day for p in scarcity.points] == list(DAYS[1:])  # no rate without subjects
    point = control.points[-1]
    low, high = proportion_confint(12, 100, alpha=0.05, method="wilson")
    assert (point.rate, point.low, point.high) == (0.12, pytest.approx(low), pytest.approx(high))
    # The top is the highest upper bound rounded up to a round percent with a whole half.
    peak = max(p.high for s in chart.series for p in s.points) * 100
    assert chart.scale >= peak and chart.scale % 2 == 0
    assert chart.half == chart.scale // 2
    assert point.y == HEIGHT - round(HEIGHT * 12 / chart.scale)
    assert point.x == 2 * SLOT + SLOT // 2 and chart.width == 3 * SLOT
    assert control.line_points.split(" ")[0] == f"{SLOT // 2},{control.points[0].y}"
    # The band runs along the upper bounds and back along the lower ones.
    band = control.band_points.split(" ")
    assert len(band) == 6
    assert band[0] == f"{control.points[0].x},{control.points[0].high_y}"
    assert band[-1] == f"{control.points[0].x},{control.points[0].low_y}"


def test_a_chart_without_subjects_draws_nothing_and_divides_by_nothing():
    chart = charts.rate_chart(DAYS, [
        ("control", "Control", True, Totals((0, 0, 0), (0, 0, 0))),
        ("b", "B", False, Totals((0, 0, 0), (0, 0, 0))),
    ])
    assert not chart.has_data and chart.scale == 2
    assert all(series.points == () for series in chart.series)
    assert all(cells == (None, None) for _day, cells in chart.rows)


def test_a_lone_day_is_drawn_as_a_level_stroke_across_its_column():
    chart = charts.rate_chart(DAYS[:1], [("control", "Control", True, Totals((5,), (5,)))])
    series = chart.series[0]
    assert chart.scale == 100 and chart.width == SLOT
    assert series.line_points == "0,0 10,0"
    assert len(series.band_points.split(" ")) == 4


def test_four_variants_get_four_styles_and_a_fifth_repeats_one():
    totals = Totals((10, 10, 10), (1, 1, 1))
    chart = charts.rate_chart(DAYS, [
        ("c", "C", True, totals), ("a", "A", False, totals), ("b", "B", False, totals),
        ("d", "D", False, totals), ("e", "E", False, totals),
    ])
    assert [s.style for s in chart.series] == [0, 1, 2, 3, 1]


def test_a_roll_back_is_marked_on_its_day_and_the_rows_hold_each_series_point():
    chart = charts.rate_chart(
        DAYS, [("control", "Control", True, Totals((1, 2, 3), (0, 1, 1))),
               ("b", "B", False, Totals((0, 1, 1), (0, 0, 0)))],
        markers=[(DAYS[1], "B rolled back"), (date(2030, 1, 1), "outside the chart")])
    assert [(m.x, m.label) for m in chart.markers] == [(SLOT + SLOT // 2, "B rolled back")]
    day, cells = chart.rows[0]
    assert day == DAYS[0] and cells[0].n == 1 and cells[1] is None
    assert chart.middle_day == DAYS[1]


def test_running_totals_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="one running total per day"):
        charts.rate_chart(DAYS, [("control", "Control", True, Totals((1,), (0,)))])
