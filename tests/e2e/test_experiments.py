"""The experiments console in a real browser: a manager sees a refused experiment explained on
the add form, opens a draft in the admin, starts it through its confirmation page, reads the
results with a week of data (the chart with one line per variant and its legend, the
sample-ratio line), rolls a variant back (cancelling once first, which changes nothing), stops
the experiment, and reads the results again with the roll-back marked, the split check off and
a kill-switch trip in the history.

Screenshots go to /tmp/shots/experiments-*.png for a person to look at."""

import itertools
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from experiments import services
from experiments.models import (
    Assignment,
    Experiment,
    ExperimentStatus,
    KillSwitchMetric,
    KillSwitchTrip,
    Observation,
    Variant,
)
from tests.e2e.test_dashboard import signed_in
from tests.factories import SETUP_ACTOR

SHOTS = Path("/tmp/shots")  # noqa: S108 (the fixed place people look for these screenshots)
VARIANTS = [
    {"key": "control", "name": "Control", "is_control": True, "weight": 40},
    {"key": "scarcity", "name": "Scarcity-heavy", "is_control": False, "weight": 20},
    {"key": "social-proof", "name": "Social-proof-heavy", "is_control": False, "weight": 20},
    {"key": "urgency", "name": "Urgency", "is_control": False, "weight": 20},
]
# Subjects a day and the share of them who convert, per variant.
TRAFFIC = {"control": (40, 0.10), "scarcity": (20, 0.20), "social-proof": (20, 0.12),
           "urgency": (20, 0.05)}
DAYS = 6
_subjects = itertools.count(1)


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"experiments-{name}.png"), full_page=True)


def a_week_of_data(experiment):
    """``DAYS`` days of assignments and conversions up to an hour ago, written as they are
    stored (their times set), the experiment's start moved back to the first of them. The
    daily conversions wobble around each variant's share, as real ones do."""
    now = timezone.now()
    first = now - timedelta(days=DAYS - 1, hours=2)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=first)
    variants = {v.key: v for v in Variant.objects.filter(experiment=experiment)}
    wobble = itertools.cycle([1.4, 0.6, 1.1, 0.8, 1.3, 0.9, 1.0])
    for day in range(DAYS):
        moment = now - timedelta(days=DAYS - 1 - day, hours=1)
        for key, (count, share) in TRAFFIC.items():
            rows = Assignment.objects.bulk_create([
                Assignment(organization=experiment.organization, experiment=experiment,
                           subject_id=next(_subjects), variant=variants[key])
                for _ in range(count)])
            Assignment.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=moment)
            Observation.objects.bulk_create([
                Observation(organization=experiment.organization, experiment=experiment,
                            variant=variants[key], subject_id=row.subject_id,
                            metric=experiment.target_metric, value=1.0,
                            observed_at=moment + timedelta(minutes=20),
                            idempotency_key=f"e2e-{row.subject_id}")
                for row in rows[:round(count * share * next(wobble))]])
    experiment.refresh_from_db()


def a_kill_switch_trip(experiment):
    """What the job leaves when Urgency's errors rise: its trip, and the roll-back."""
    urgency = Variant.objects.get(experiment=experiment, key="urgency")
    KillSwitchTrip.objects.create(
        organization=experiment.organization, experiment=experiment, variant=urgency,
        metric=KillSwitchMetric.ERROR_RATE, threshold=0.5, control_value=0.021,
        variant_value=0.094, control_n=240, variant_n=120, p_value=0.0021,
        tripped_at=timezone.now() - timedelta(hours=3))
    services.variant_rollback(org=experiment.organization, experiment=experiment,
                              variant=urgency, actor=SETUP_ACTOR)


def test_a_manager_starts_rolls_back_and_stops_an_experiment_and_reads_its_results(
    page, live_server, org, manager
):
    experiment = services.experiment_create(
        org=org, name="Reply tactics", variants=VARIANTS, target_metric="conversion",
        min_sample_per_variant=100, actor=SETUP_ACTOR)

    signed_in(page, live_server, manager)
    # The add form explains a refusal by the service on the form.
    page.goto(f"{live_server.url}/admin/experiments/experiment/add/")
    page.fill("#id_name", "Two controls")
    page.fill("#id_variants-1-key", "b")
    page.fill("#id_variants-1-name", "B")
    page.check("#id_variants-1-is_control")
    page.get_by_role("button", name="Create the draft").click()
    expect(page.get_by_test_id("variant-errors")).to_have_text(
        "Mark exactly one variant as the control (2 marked).")
    shot(page, "admin-add-refused")
    assert not Experiment.objects.filter(name="Two controls").exists()

    page.goto(f"{live_server.url}/admin/experiments/experiment/")
    expect(page.locator("#result_list")).to_contain_text(
        "Control 40 % (control) · Scarcity-heavy 20 % · Social-proof-heavy 20 % · Urgency 20 %")
    page.get_by_role("link", name="Reply tactics").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/experiments/experiment/{experiment.pk}/change/")
    expect(page.get_by_text("Variants (fixed once created")).to_be_visible()
    shot(page, "admin-draft")

    # Start, through its confirmation page.
    page.get_by_test_id("start-tool").click()
    expect(page.get_by_test_id("confirm-explanation")).to_contain_text(
        "Starting “Reply tactics” assigns every lead it sees from now on to a variant "
        "(Control 40 %, Scarcity-heavy 20 %, Social-proof-heavy 20 %, Urgency 20 %)")
    shot(page, "confirm-start")
    page.get_by_test_id("confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("Started “Reply tactics”.")
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING

    # A week of leads, then the results with the split checked.
    a_week_of_data(experiment)
    page.get_by_test_id("results-tool").click()
    expect(page).to_have_url(f"{live_server.url}/experiments/{experiment.pk}/")
    expect(page.get_by_test_id("result-row")).to_have_count(4)
    expect(page.get_by_test_id("experiment-subjects")).to_have_text(str(DAYS * 100))
    expect(page.get_by_test_id("srm-line")).to_contain_text(
        f"Control {DAYS * 40} of {DAYS * 40} expected")
    expect(page.get_by_test_id("srm-ok")).to_be_visible()
    expect(page.get_by_test_id("trips-empty")).to_be_visible()
    chart = page.get_by_test_id("rate-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("[data-testid=series-line]")).to_have_count(4)
    expect(chart.locator("[data-testid=series-band]")).to_have_count(4)
    legend = page.get_by_test_id("legend-item")
    expect(legend).to_have_count(4)
    for index, name in enumerate(["Control (control)", "Scarcity-heavy", "Social-proof-heavy",
                                  "Urgency"]):
        expect(legend.nth(index)).to_contain_text(name)
    box = chart.bounding_box()
    assert box is not None and box["height"] > 150 and box["width"] > 600, box
    shot(page, "results-running")

    # Roll Scarcity-heavy back: cancel once, and nothing changes; then confirm.
    page.get_by_role("link", name="Manage in the console").click()
    page.get_by_test_id("rollback-scarcity").click()
    expect(page.get_by_test_id("confirm-explanation")).to_have_text(
        f"Rolling back Scarcity-heavy sends its {DAYS * 20} subjects to control from their "
        "next message; the other variants do not move.")
    shot(page, "confirm-rollback")
    page.get_by_test_id("cancel").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/experiments/experiment/{experiment.pk}/change/")
    assert Variant.objects.get(experiment=experiment, key="scarcity").rolled_back_at is None
    expect(page.get_by_test_id("rollback-scarcity")).to_be_visible()

    page.get_by_test_id("rollback-scarcity").click()
    page.get_by_test_id("confirm").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Rolled back Scarcity-heavy: its subjects get control from now on.")
    expect(page.get_by_test_id("rollback-scarcity")).to_have_count(0)
    assert Variant.objects.get(experiment=experiment, key="scarcity").rolled_back_at

    # The kill-switch trips Urgency on its own; then the manager stops the experiment.
    a_kill_switch_trip(experiment)
    page.reload()
    page.get_by_test_id("stop-tool").click()
    expect(page.get_by_test_id("confirm-explanation")).to_contain_text(
        f"The {DAYS * 100} subjects assigned and every observation are kept")
    page.get_by_test_id("confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("Stopped “Reply tactics”")
    expect(page.get_by_test_id("stop-tool")).to_have_count(0)
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.STOPPED
    shot(page, "admin-stopped")

    # The results after it all: the roll-backs marked, the split check off, the trip listed.
    page.get_by_test_id("results-tool").click()
    expect(page.get_by_test_id("experiment-status")).to_have_text("Stopped")
    expect(page.get_by_test_id("srm-off")).to_contain_text(
        "The check is off: Scarcity-heavy, Urgency were rolled back")
    trips = page.get_by_test_id("trip-row")
    expect(trips).to_have_count(1)
    expect(trips.first).to_contain_text("Urgency")
    expect(trips.first).to_contain_text("Error rate")
    expect(trips.first).to_contain_text("+348 %")
    expect(page.get_by_test_id("rate-chart").locator("[data-testid=chart-marker]")).to_have_count(2)
    expect(page.get_by_test_id("rate-chart").locator("[data-testid=series-line]")).to_have_count(4)
    shot(page, "results-stopped")

    page.get_by_role("link", name="Experiments", exact=True).first.click()
    expect(page.get_by_test_id("experiment-row")).to_have_count(1)
    expect(page.get_by_test_id("experiment-row")).to_contain_text("Stopped")
    shot(page, "list")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/experiments/{experiment.pk}/")
    expect(page.get_by_test_id("rate-chart")).to_be_visible()
    shot(page, "results-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the results page is {width}px wide at 375px"
