"""First sights of one lead and replays of one observation arriving at once, on PostgreSQL
with real threads and separate connections: one assignment, one observation, one answer."""

import pytest

from experiments import services
from experiments.errors import ExperimentInvalid
from experiments.models import Assignment, Experiment, Observation
from tests.experiments.factories import make_experiment, make_lead_id
from tests.factories import SETUP_ACTOR
from tests.support import needs_postgres, run_together

pytestmark = [pytest.mark.django_db(transaction=True), needs_postgres]

CALLERS = 16
IN_TRANSACTION = pytest.mark.parametrize(
    "in_transaction", [False, True], ids=["autocommit", "inside-a-caller-transaction"])


@IN_TRANSACTION
def test_a_lead_seen_by_many_workers_at_once_is_assigned_once_and_all_get_that_variant(
    org, in_transaction
):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    outcomes = run_together(CALLERS, lambda _: services.variant_for(
        org=org, experiment=experiment, subject_id=lead).key, in_transaction=in_transaction)
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], str), outcomes
    rows = list(Assignment.objects.filter(experiment=experiment).values_list("subject_id",
                                                                            "variant__key"))
    assert rows == [(lead, outcomes[0])]


@IN_TRANSACTION
def test_one_observation_replayed_by_many_workers_at_once_is_recorded_once(org, in_transaction):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    services.variant_for(org=org, experiment=experiment, subject_id=lead)
    outcomes = run_together(CALLERS, lambda _: services.observation_record(
        org=org, experiment=experiment, subject_id=lead, metric="meeting_booked", value=1.0,
        idempotency_key="msg-9:booked"), in_transaction=in_transaction)
    assert len({o.pk for o in outcomes}) == 1 and isinstance(outcomes[0].pk, int), outcomes
    # Exactly one caller is told it recorded the observation; the others hear a replay.
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * (len(outcomes) - 1)
    assert Observation.objects.filter(experiment=experiment).count() == 1


CREATORS = 8


def tactics_create(org, **options):
    return services.experiment_create(
        org=org, name="Reply tone", target_metric="conversion", actor=SETUP_ACTOR,
        variants=[{"key": "control", "name": "Control", "is_control": True},
                  {"key": "warm", "name": "Warm", "is_control": False}], **options)


@IN_TRANSACTION
def test_experiments_of_one_name_created_at_once_get_distinct_keys_or_a_clear_refusal(
    org, in_transaction
):
    outcomes = run_together(CREATORS, lambda _: tactics_create(org), in_transaction=in_transaction)

    created = [o for o in outcomes if isinstance(o, Experiment)]
    assert all(isinstance(o, Experiment | ExperimentInvalid) for o in outcomes), outcomes
    assert created and len({e.key for e in created}) == len(created)
    assert Experiment.objects.for_org(org).count() == len(created)


@IN_TRANSACTION
def test_one_key_asked_for_at_once_is_created_once_and_the_rest_are_refused_naming_it(
    org, in_transaction
):
    outcomes = run_together(CREATORS, lambda _: tactics_create(org, key="tone"),
                            in_transaction=in_transaction)

    created = [o for o in outcomes if isinstance(o, Experiment)]
    refused = [o for o in outcomes if isinstance(o, ExperimentInvalid)]
    assert len(created) == 1 and len(refused) == CREATORS - 1, outcomes
    assert all("key" in error.fields for error in refused)
