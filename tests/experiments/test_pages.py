"""The managers' experiment pages: the list (status, metric, days left, leader or verdict) and
one experiment's results (each variant against control with the fixed-horizon and the
always-valid interval, the sample-ratio line, the daily chart, the kill-switch history), who
may see them, another tenant's ids, honest empty states and pinned query counts."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from experiments import selectors, services, stats
from experiments.models import Experiment, ExperimentStatus, KillSwitchMetric, KillSwitchTrip
from flexoraa.models import Role
from tests.billing.billing_pages_support import page_of, queries
from tests.experiments.factories import TACTICS, make_experiment
from tests.experiments.test_results_over_time import IST, assign, local, observe, started_on
from tests.factories import SETUP_ACTOR, make_membership

pytestmark = pytest.mark.django_db

HALVES = [dict(TACTICS[0]), dict(TACTICS[1], weight=50)]


@pytest.fixture
def owner(org):
    return make_membership(org, role=Role.OWNER)


@pytest.fixture
def today():
    return timezone.localdate(timezone=IST)


def fill(experiment, spread, *, day=None):
    """Assign ``{variant key: (subjects, conversions)}`` on ``day`` (the start day)."""
    moment = experiment.started_at if day is None else local(day, 12)
    for key, (subjects, conversions) in spread.items():
        for index in range(subjects):
            subject = assign(experiment, key, at=moment)
            if index < conversions:
                observe(experiment, subject, at=moment + timedelta(minutes=5))


def trip(experiment, variant_key, *, metric=KillSwitchMetric.ERROR_RATE, minutes_ago=30,
         rolled_back=False, **numbers):
    variant = experiment.variants.get(key=variant_key)
    values = {"threshold": 0.5, "control_value": 0.02, "variant_value": 0.09,
              "control_n": 400, "variant_n": 210, "p_value": 0.0004, **numbers}
    return KillSwitchTrip.objects.create(
        organization=experiment.organization, experiment=experiment, variant=variant,
        metric=metric, experiment_rolled_back=rolled_back,
        tripped_at=timezone.now() - timedelta(minutes=minutes_ago), **values)


def rows(page, testid):
    return re.findall(rf'<tr data-testid="{testid}"[^>]*>(.*?)</tr>', page, re.S)


def text(markup):
    words = unescape(re.sub(r"<[^>]+>", " ", markup)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", words).strip()


# --- who sees what ---------------------------------------------------------------------------

def test_the_pages_are_for_owners_and_managers_and_refused_to_sdrs(
    org, manager, owner, sdr, login_client
):
    experiment = make_experiment(org)
    for url in ("/experiments/", f"/experiments/{experiment.pk}/"):
        assert login_client(manager).get(url).status_code == 200
        assert login_client(owner).get(url).status_code == 200
        assert login_client(sdr).get(url).status_code == 403


def test_anonymous_visitors_are_asked_to_sign_in(org, client):
    experiment = make_experiment(org)
    for url in ("/experiments/", f"/experiments/{experiment.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_another_tenants_experiment_is_the_same_404_as_a_missing_one(
    org, other_org, manager, login_client
):
    theirs = make_experiment(other_org, name="Their secret test")
    client = login_client(manager)

    foreign = client.get(f"/experiments/{theirs.pk}/")
    missing = client.get(f"/experiments/{theirs.pk + 1000}/")

    assert foreign.status_code == missing.status_code == 404
    assert "Their secret test" not in page_of(foreign)
    assert "Their secret test" not in page_of(client.get("/experiments/"))


def test_managers_find_experiments_in_the_top_bar_and_sdrs_do_not(
    org, manager, sdr, login_client
):
    page = page_of(login_client(manager).get("/experiments/"))
    assert '<a href="/experiments/" aria-current="page">Experiments</a>' in page
    assert 'href="/experiments/"' not in page_of(login_client(sdr).get("/"))


# --- the list --------------------------------------------------------------------------------

def test_the_list_shows_status_metric_schedule_and_where_each_experiment_stands(
    org, manager, login_client, today
):
    make_experiment(org, name="Not yet", start=False, duration_days=10)
    collecting = started_on(make_experiment(org, name="Collecting"),
                            timezone.now() - timedelta(days=3, hours=1))
    fill(collecting, {"control": (4, 1), "scarcity": (2, 2), "social-proof": (2, 0)})
    decided = make_experiment(org, name="Decided", min_sample_per_variant=20,
                              variants=HALVES, duration_days=7)
    fill(decided, {"control": (200, 10), "scarcity": (200, 120)})
    stopped = make_experiment(org, name="Stopped early")
    services.experiment_stop(org=org, experiment=stopped, actor=SETUP_ACTOR)

    page = page_of(login_client(manager).get("/experiments/"))

    listed = {re.search(r'data-key="([^"]+)"', row).group(0): text(row)
              for row in re.findall(r'<tr data-testid="experiment-row".*?</tr>', page, re.S)}
    assert len(listed) == 4
    by_name = {name: words for words in listed.values()
               for name in ("Not yet", "Collecting", "Decided", "Stopped early")
               if words.startswith(name)}
    assert "Draft" in by_name["Not yet"]
    assert "Not started; runs 10 days once started" in by_name["Not yet"]
    assert "No subjects yet" in by_name["Not yet"]
    assert "meeting_booked" in by_name["Collecting"]
    assert "11 days left" in by_name["Collecting"]
    assert ("Collecting: no verdict before 1,050 subjects per variant; Scarcity-heavy is "
            "ahead so far") in by_name["Collecting"]
    assert "Control 50 % · Scarcity-heavy 25 % · Social-proof-heavy 25 %" in by_name["Collecting"]
    assert "Winner: Scarcity-heavy (+55.0 pts)" in by_name["Decided"]
    assert "7 days left" in by_name["Decided"]
    assert f"Ended {today:%-d %b %Y}" in by_name["Stopped early"]


def test_the_list_says_so_when_there_is_no_experiment(org, manager, login_client):
    page = page_of(login_client(manager).get("/experiments/"))
    assert 'data-testid="experiments-empty"' in page
    assert 'href="/admin/experiments/experiment/add/"' in page


def test_the_list_costs_the_same_queries_for_one_experiment_or_many(
    org, manager, login_client
):
    client = login_client(manager)
    first = make_experiment(org, name="First")
    fill(first, {"control": (3, 1), "scarcity": (2, 1)})
    few = queries(client, "/experiments/")

    for number in range(5):
        more = make_experiment(org, name=f"More {number}")
        fill(more, {"control": (2, 1), "social-proof": (2, 2)})
    services.variant_rollback(org=org, experiment=more,
                              variant=more.variants.get(key="scarcity"), actor=SETUP_ACTOR)

    assert queries(client, "/experiments/") == few


# --- one experiment's results ------------------------------------------------------------

def test_each_variant_is_shown_against_control_with_both_intervals_and_the_verdicts_basis(
    org, manager, login_client
):
    experiment = make_experiment(org, min_sample_per_variant=50)
    fill(experiment, {"control": (200, 20), "scarcity": (100, 45), "social-proof": (100, 9)})
    results = selectors.experiment_results(org, experiment)

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    table = {re.search(r'data-variant="([^"]+)"', row).group(1): text(row)
             for row in re.findall(r'<tr data-testid="result-row".*?</tr>', page, re.S)}
    assert list(table) == ["control", "scarcity", "social-proof"]
    assert table["control"].startswith(
        "Control control · 50 % minimum sample reached 10.0 % 20 of 200 baseline")
    scarcity = next(v for v in results.variants if v.key == "scarcity")
    assert scarcity.verdict is stats.Verdict.BETTER
    low, high = scarcity.lift_ci_low * 100, scarcity.lift_ci_high * 100
    assert f"+{low:.1f} to +{high:.1f} pts" in table["scarcity"]
    always_low, always_high = scarcity.always_valid_low * 100, scarcity.always_valid_high * 100
    assert f"+{always_low:.1f} to +{always_high:.1f} pts" in table["scarcity"]
    assert "+35.0 pts" in table["scarcity"] and "+350 % relative" in table["scarcity"]
    assert "Better than control" in table["scarcity"]
    assert "fixed horizon: better than control" in table["scarcity"]
    assert "45.0 % 45 of 100" in table["scarcity"]
    assert "minimum sample reached" in table["scarcity"]
    assert "< 0.001" in table["scarcity"]
    assert "± " in table["scarcity"]  # the detectable effect at this n
    assert "No difference shown" in table["social-proof"]
    assert ("rest on the always-valid (sequential) interval" in text(page))
    assert "Winner: Scarcity-heavy." in text(page)


def test_below_the_minimum_sample_there_is_no_verdict_and_the_progress_shows(
    org, manager, login_client
):
    experiment = make_experiment(org, min_sample_per_variant=40)
    fill(experiment, {"control": (20, 2), "scarcity": (10, 1), "social-proof": (8, 4)})

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    scarcity = text(rows(page, "result-row")[1])
    assert "25 % of the minimum sample" in scarcity
    assert "No verdict yet: below the minimum sample" in scarcity
    assert "Winner" not in text(page)


def test_the_sample_ratio_line_gives_the_counts_and_the_p_value(org, manager, login_client):
    experiment = make_experiment(org, variants=HALVES)
    fill(experiment, {"control": (52, 0), "scarcity": (48, 0)})

    page = text(page_of(login_client(manager).get(f"/experiments/{experiment.pk}/")))

    assert "Control 52 of 50 expected (52.0 % for a weight of 50 %)" in page
    assert "Scarcity-heavy 48 of 50 expected (48.0 % for a weight of 50 %)" in page
    assert "Chi-square p = 0.689" in page
    assert "The split follows the weights." in page
    assert "Sample-ratio mismatch" not in page


def test_a_mismatched_split_is_a_warning_and_blocks_the_winner(org, manager, login_client):
    experiment = make_experiment(org, variants=HALVES, min_sample_per_variant=10)
    fill(experiment, {"control": (300, 15), "scarcity": (150, 90)})

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    assert 'data-testid="srm-mismatch"' in page
    assert "No winner is declared while the split is off." in text(page)
    assert "Winner:" not in text(page)


def test_with_a_variant_rolled_back_the_split_check_is_off_and_says_why(
    org, manager, login_client
):
    experiment = make_experiment(org)
    fill(experiment, {"control": (6, 1), "scarcity": (3, 1), "social-proof": (3, 0)})
    services.variant_rollback(org=org, experiment=experiment,
                              variant=experiment.variants.get(key="scarcity"),
                              actor=SETUP_ACTOR)

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    assert ("The check is off: Scarcity-heavy was rolled back, and its subjects move to "
            "control, so the split no longer follows the weights.") in text(page)
    assert 'data-testid="srm-line"' not in page
    assert 'data-testid="chart-marker"' in page


def test_the_kill_switch_history_lists_each_trip_newest_first(org, manager, login_client):
    experiment = make_experiment(org)
    trip(experiment, "scarcity", minutes_ago=90)
    trip(experiment, "social-proof", metric=KillSwitchMetric.RESPONSE_TIME, minutes_ago=10,
         threshold=0.3, control_value=1200.0, variant_value=2100.0, p_value=0.012,
         rolled_back=True)

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    history = [text(row) for row in rows(page, "trip-row")]
    assert len(history) == 2
    assert "Social-proof-heavy Response time 1,200 ms n 400 2,100 ms n 210 +75 % +30 % 0.012" \
        in history[0]
    assert "the whole experiment" in history[0]
    assert "Scarcity-heavy Error rate 2.0 % n 400 9.0 % n 210 +350 % +50 % < 0.001" in history[1]
    assert "this variant" in history[1]
    assert 'data-testid="trips-empty"' not in page


def test_a_trip_from_a_control_value_of_0_reads_from_0(org, manager, login_client):
    experiment = make_experiment(org)
    trip(experiment, "scarcity", control_value=0.0, variant_value=0.3)

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    assert "from 0" in text(rows(page, "trip-row")[0])


def test_the_chart_draws_a_line_and_a_band_per_variant_with_a_legend_and_a_table(
    org, manager, login_client, today
):
    experiment = started_on(make_experiment(org), local(today - timedelta(days=3), 9))
    for offset in range(3):
        fill(experiment, {"control": (4, 1), "scarcity": (2, 1), "social-proof": (2, 0)},
             day=today - timedelta(days=3 - offset))

    page = page_of(login_client(manager).get(f"/experiments/{experiment.pk}/"))

    chart = re.search(r'<svg class="chart-bars" data-testid="rate-chart".*?</svg>', page, re.S)
    assert chart is not None
    svg = chart.group(0)
    assert re.findall(r'data-testid="series-line" data-variant="([^"]+)"', svg) == [
        "control", "scarcity", "social-proof"]
    assert len(re.findall(r'data-testid="series-band"', svg)) == 3
    assert "<title id=\"rate-chart-title\">Cumulative conversion rate per variant" in svg
    legend = re.findall(r'<li data-testid="legend-item"[^>]*>.*?</li>', page, re.S)
    assert [text(item) for item in legend] == [
        "Control (control): 25.0 %", "Scarcity-heavy: 50.0 %", "Social-proof-heavy: 0.0 %"]
    assert re.search(r'<div class="chart-y"[^>]*><span>\d+ %</span><span>\d+ %</span>'
                     r'<span>0 %</span></div>', page)
    assert len(rows(page, "rate-day")) == 4
    assert "3 of 12; 95 %" in text(rows(page, "rate-day")[2])


def test_an_experiment_without_subjects_renders_honest_empty_states(
    org, manager, login_client
):
    client = login_client(manager)
    for experiment in (make_experiment(org, name="Running, empty"),
                       make_experiment(org, name="Draft", start=False)):
        response = client.get(f"/experiments/{experiment.pk}/")
        page = page_of(response)
        assert response.status_code == 200
        assert 'data-testid="results-empty"' in page
        assert 'data-testid="chart-empty"' in page and 'data-testid="rate-chart"' not in page
        assert 'data-testid="srm-none"' in page
        assert 'data-testid="trips-empty"' in page
        assert "No verdict yet" in page
    assert "leads are assigned once the experiment is started" in page


def test_the_results_page_costs_the_same_queries_however_much_data(
    org, manager, login_client, today
):
    client = login_client(manager)
    experiment = started_on(make_experiment(org), local(today - timedelta(days=1), 9))
    fill(experiment, {"control": (1, 0), "scarcity": (1, 1)}, day=today - timedelta(days=1))
    few = queries(client, f"/experiments/{experiment.pk}/")

    Experiment.objects.filter(pk=experiment.pk).update(
        started_at=local(today - timedelta(days=12), 9))
    experiment.refresh_from_db()
    for offset in range(12):
        fill(experiment, {"control": (3, 1), "scarcity": (2, 1), "social-proof": (2, 2)},
             day=today - timedelta(days=12 - offset))
    trip(experiment, "social-proof")
    services.variant_rollback(org=org, experiment=experiment,
                              variant=experiment.variants.get(key="social-proof"),
                              actor=SETUP_ACTOR)

    assert queries(client, f"/experiments/{experiment.pk}/") == few
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING
