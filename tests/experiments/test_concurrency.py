"""First sights of one lead and replays of one observation arriving at once, on PostgreSQL
with real threads and separate connections: one assignment, one observation, one answer."""

import pytest

from experiments import services
from experiments.models import Assignment, Observation
from tests.experiments.factories import make_experiment, make_lead_id
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
        idempotency_key="msg-9:booked").pk, in_transaction=in_transaction)
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int), outcomes
    assert Observation.objects.filter(experiment=experiment).count() == 1
