"""The kill-switch job: each variant judged against control every 5 minutes, a tripped one
rolled back with its numbers kept, audited and mailed; experiments past their duration
completed; safe to run twice."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from experiments import services, tasks
from experiments.errors import VariantRollbackRefused
from experiments.models import (
    Assignment,
    Experiment,
    ExperimentStatus,
    KillSwitchMetric,
    KillSwitchTrip,
    Observation,
    Variant,
)
from experiments.schedules import SCHEDULES
from experiments.services import kill_switches
from flexoraa.models import AuditEvent, JobRun, Role
from flexoraa.selectors import audit_chain_first_break
from tests.experiments.factories import make_experiment
from tests.factories import SETUP_ACTOR, make_membership

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
TWO_ARMS = [
    {"key": "control", "name": "Control", "is_control": True, "weight": 50},
    {"key": "bold", "name": "Bold replies", "is_control": False, "weight": 50},
]

_subjects = iter(range(1, 10**9))
_keys = iter(range(10**9))


@pytest.fixture
def outbox(settings, mailoutbox, org):
    settings.EMAIL_BACKEND = LOCMEM
    make_membership(org, role=Role.MANAGER)
    return mailoutbox


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """Run the job's service with its after-commit work (the managers' email) carried out."""

    def run(**options):
        with django_capture_on_commit_callbacks(execute=True):
            return services.kill_switches_check(**options)

    return run


def variant(experiment, key) -> Variant:
    return experiment.variants.get(key=key)


def expose(experiment, key, subjects, *, events=None, times=None):
    """``subjects`` assigned to the variant ``key``; ``events`` maps a rate metric to how many
    of them had it; ``times`` lists response times (one observation each, spread over the
    subjects). Written in bulk: the job reads the rows, however they came."""
    arm = variant(experiment, key)
    ids = [next(_subjects) for _ in range(subjects)]
    Assignment.objects.bulk_create([
        Assignment(organization=experiment.organization, experiment=experiment,
                   subject_id=subject, variant=arm) for subject in ids])
    now = timezone.now()
    rows = []
    for metric, count in (events or {}).items():
        rows += [Observation(organization=experiment.organization, experiment=experiment,
                             variant=arm, subject_id=subject, metric=metric, value=1.0,
                             observed_at=now, idempotency_key=f"k{next(_keys)}")
                 for subject in ids[:count]]
    for index, value in enumerate(times or []):
        rows.append(Observation(organization=experiment.organization, experiment=experiment,
                                variant=arm, subject_id=ids[index % len(ids)],
                                metric=KillSwitchMetric.RESPONSE_TIME, value=value,
                                observed_at=now, idempotency_key=f"k{next(_keys)}"))
    Observation.objects.bulk_create(rows)


def spread(mean, count):
    """Response times around ``mean`` with a modest spread, the same shape in every arm."""
    return [mean * (0.6 + 0.8 * (i % 11) / 10) for i in range(count)]


# Data built to trip each switch: the variant far above control, on plenty of subjects.
TRIPPING = {
    KillSwitchMetric.ERROR_RATE: ({"error": 10}, {"error": 60}, None, None),
    KillSwitchMetric.HALLUCINATION_RATE: ({"hallucination": 8}, {"hallucination": 60},
                                          None, None),
    KillSwitchMetric.OBJECTION_RATE: ({"objection": 20}, {"objection": 110}, None, None),
    KillSwitchMetric.RESPONSE_TIME: (None, None, spread(800, 300), spread(2000, 300)),
}


@pytest.mark.parametrize("metric", list(TRIPPING), ids=str)
def test_each_switch_trips_on_data_built_to_trip_it_and_rolls_the_variant_back(
        org, outbox, metric, check):
    experiment = make_experiment(org)  # control 50 %, scarcity 25 %, social-proof 25 %
    control_events, variant_events, control_times, variant_times = TRIPPING[metric]
    expose(experiment, "control", 300, events=control_events, times=control_times)
    expose(experiment, "scarcity", 300, events=variant_events, times=variant_times)
    expose(experiment, "social-proof", 300, events=control_events, times=control_times)

    result = check()

    assert result["tripped"] == 1
    trip = KillSwitchTrip.objects.get()
    assert (trip.variant.key, trip.metric) == ("scarcity", metric)
    assert (trip.control_n, trip.variant_n) == (300, 300)
    assert trip.variant_value > trip.control_value * (1 + trip.threshold)
    assert 0 <= trip.p_value < 0.01
    assert not trip.experiment_rolled_back
    assert variant(experiment, "scarcity").is_rolled_back
    assert not variant(experiment, "social-proof").is_rolled_back
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_the_managers_are_emailed_the_numbers_that_tripped_it(org, outbox, check):
    experiment = make_experiment(org)
    expose(experiment, "control", 200, events={"error": 10})
    expose(experiment, "scarcity", 200, events={"error": 50})
    expose(experiment, "social-proof", 200, events={"error": 10})

    check()

    (mail,) = outbox
    assert "Kill-switch tripped" in mail.subject and "Scarcity-heavy" in mail.subject
    assert "25.0%" in mail.body and "5.0%" in mail.body  # the variant's and control's rates
    assert "200 leads" in mail.body and "50%" in mail.body  # exposure and threshold
    assert f"/experiments/{experiment.pk}/" in mail.body


def test_a_trip_is_audited_with_its_numbers_and_the_chain_holds(org, outbox, check):
    experiment = make_experiment(org)
    expose(experiment, "control", 200, events={"error": 10})
    expose(experiment, "scarcity", 200, events={"error": 50})

    check()

    event = AuditEvent.objects.for_org(org).get(action="experiment.kill_switch_tripped")
    assert event.data["metric"] == "error" and event.data["variant"] == "scarcity"
    assert (event.data["control_n"], event.data["variant_n"]) == (200, 200)
    assert AuditEvent.objects.for_org(org).filter(action="variant.rollback").count() == 1
    assert audit_chain_first_break(org) is None


def test_with_two_variants_a_trip_rolls_the_whole_experiment_back(org, outbox, check):
    experiment = make_experiment(org, name="Two arms", variants=TWO_ARMS)
    expose(experiment, "control", 150, events={"hallucination": 3})
    expose(experiment, "bold", 150, events={"hallucination": 40})

    check()

    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.ROLLED_BACK
    assert experiment.ended_at is not None
    assert KillSwitchTrip.objects.get().experiment_rolled_back
    assert "whole experiment is rolled back" in outbox[0].body


def test_no_switch_trips_below_the_minimum_exposure_however_large_the_rise(org, outbox, check):
    experiment = make_experiment(org)  # kill_min_exposure defaults to 100
    expose(experiment, "control", 99, events={"error": 1})
    expose(experiment, "scarcity", 99, events={"error": 99, "hallucination": 99})

    assert check()["tripped"] == 0
    assert not KillSwitchTrip.objects.exists() and not outbox


def test_a_rise_below_the_threshold_stays_quiet_even_on_lots_of_data(org, outbox, check):
    experiment = make_experiment(org)
    expose(experiment, "control", 2000, events={"error": 200, "objection": 300},
           times=spread(1000, 2000))
    # errors +30 % (threshold 50 %), objections +50 % (80 %), response time +15 % (30 %)
    expose(experiment, "scarcity", 2000, events={"error": 260, "objection": 450},
           times=spread(1150, 2000))

    assert check()["tripped"] == 0


def test_an_experiments_own_threshold_replaces_the_default(org, outbox, check):
    experiment = make_experiment(org)
    Experiment.objects.filter(pk=experiment.pk).update(kill_error_rate_up=9.0)
    expose(experiment, "control", 300, events={"error": 15})
    expose(experiment, "scarcity", 300, events={"error": 60})  # +300 %: under +900 %

    assert check()["tripped"] == 0


def test_a_second_run_changes_nothing_and_mails_nobody_again(org, outbox, check):
    experiment = make_experiment(org)
    expose(experiment, "control", 200, events={"error": 10})
    expose(experiment, "scarcity", 200, events={"error": 50})
    check()

    again = check()

    assert again["tripped"] == 0
    assert KillSwitchTrip.objects.count() == 1 and len(outbox) == 1


def test_a_variant_a_manager_rolled_back_meanwhile_is_skipped(org, outbox):
    experiment = make_experiment(org)
    expose(experiment, "control", 200, events={"error": 10})
    expose(experiment, "scarcity", 200, events={"error": 50})
    stale = Experiment.objects.get(pk=experiment.pk)
    services.variant_rollback(org=org, experiment=experiment,
                              variant=variant(experiment, "scarcity"), actor=SETUP_ACTOR)
    arms = kill_switches.guardrail_numbers([experiment.pk])
    control, scarcity = variant(experiment, "control"), variant(experiment, "scarcity")
    metric, judgement = kill_switches.variant_judge(stale, arms[control.pk], arms[scarcity.pk])

    with pytest.raises(VariantRollbackRefused):
        services.kill_switch_trip(org=org, experiment=stale, variant=scarcity, metric=metric,
                                  judgement=judgement, control_n=200, variant_n=200,
                                  actor=SETUP_ACTOR)
    assert not KillSwitchTrip.objects.exists() and not outbox


def test_a_mail_outage_does_not_undo_the_roll_back(org, outbox, monkeypatch, check):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(kill_switches, "email_managers", broken)
    experiment = make_experiment(org)
    expose(experiment, "control", 200, events={"error": 10})
    expose(experiment, "scarcity", 200, events={"error": 50})

    check()

    assert variant(experiment, "scarcity").is_rolled_back
    assert KillSwitchTrip.objects.count() == 1


def test_only_running_experiments_are_judged(org, outbox, check):
    draft = make_experiment(org, name="Draft", start=False)
    stopped = make_experiment(org, name="Stopped")
    for experiment in (draft, stopped):
        expose(experiment, "control", 200, events={"error": 10})
        expose(experiment, "scarcity", 200, events={"error": 50})
    services.experiment_stop(org=org, experiment=stopped, actor=SETUP_ACTOR)

    assert check() == {"running": 0, "completed": 0, "judged": 0,
                                              "tripped": 0, "failed": 0}


def test_an_experiment_past_its_duration_completes_and_keeps_its_data(org, outbox, check):
    due = make_experiment(org, name="Due", duration_days=14)
    fresh = make_experiment(org, name="Fresh", duration_days=14)
    Experiment.objects.filter(pk=due.pk).update(
        started_at=timezone.now() - timedelta(days=14, minutes=1))
    expose(due, "control", 5)

    result = check()

    due.refresh_from_db()
    fresh.refresh_from_db()
    assert result["completed"] == 1
    assert due.status == ExperimentStatus.COMPLETED and due.ended_at is not None
    assert fresh.status == ExperimentStatus.RUNNING
    assert Assignment.objects.filter(experiment=due).count() == 5
    assert AuditEvent.objects.for_org(org).filter(action="experiment.completed").count() == 1


def test_the_numbers_are_read_in_a_fixed_number_of_queries_however_many_experiments(org):
    experiments = [make_experiment(org, name=f"E{i}") for i in range(4)]
    for experiment in experiments:
        expose(experiment, "control", 3, events={"error": 1}, times=[100.0, 200.0])

    with CaptureQueriesContext(connection) as few:
        kill_switches.guardrail_numbers([experiments[0].pk])
    with CaptureQueriesContext(connection) as many:
        numbers = kill_switches.guardrail_numbers([e.pk for e in experiments])

    assert len(many) == len(few) == 4
    control = variant(experiments[0], "control")
    assert numbers[control.pk].exposure == 3
    assert numbers[control.pk].events == {"error": 1}
    assert numbers[control.pk].response_time.n == 2
    assert numbers[control.pk].response_time.mean == pytest.approx(150.0)
    assert numbers[control.pk].response_time.std == pytest.approx(70.7107, rel=1e-4)


def test_the_job_runs_every_five_minutes_under_its_lease_and_records_its_run(org, outbox):
    (job,) = SCHEDULES
    assert job.every == timedelta(minutes=5) and job.task == "experiments.kill_switches_check"
    experiment = make_experiment(org)
    expose(experiment, "control", 200, events={"error": 10})
    expose(experiment, "scarcity", 200, events={"error": 50})

    detail = tasks.kill_switches_check.apply().get()

    assert detail["tripped"] == 1
    run = JobRun.objects.get(name="experiments.kill_switches_check")
    assert run.outcome == JobRun.Outcome.SUCCEEDED and run.detail["tripped"] == 1
