"""The experiments API, the seed's contract: create, start, stop, a lead's variant, record,
results, list and detail, in camelCase, through an integration's key and a manager's session;
SDRs refused; another tenant's experiment or lead answered like a missing one; every route in
the OpenAPI schema."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments import selectors, services
from experiments.models import Assignment, Experiment, ExperimentStatus, Observation, Variant
from flexoraa.models import AuditEvent
from tests.experiments.factories import make_experiment, make_lead_id, make_lead_ids
from tests.factories import SETUP_ACTOR
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

BASE = "/api/experiments/"
CREATE = f"{BASE}create/"
CLIENTS = ["key_client", "manager_client"]

TACTICS = {
    "name": "Psychology tactics",
    "variants": [
        {"id": "control", "name": "Control", "isControl": True, "allocation": 50},
        {"id": "scarcity", "name": "Scarcity-heavy", "isControl": False, "allocation": 25,
         "config": {"tactic": "scarcity"}},
        {"id": "social-proof", "name": "Social-proof-heavy", "isControl": False,
         "allocation": 25, "config": {"tactic": "social_proof"}},
    ],
    "targetMetric": "meeting_booked",
}
EXPERIMENT_FIELDS = {"id", "key", "name", "status", "targetMetric", "sampleSize", "durationDays",
                     "startedAt", "endedAt", "createdAt", "variants", "killSwitch"}
RESULT_FIELDS = {"id", "name", "isControl", "n", "conversions", "rate", "lift", "liftCi",
                 "relativeLift", "z", "pValue", "pValueHolm", "mde", "minSampleReached",
                 "alwaysValidCi", "alwaysValidPValue", "verdict", "fixedHorizonVerdict"}


def url(experiment, route=""):
    return f"{BASE}{experiment.pk if isinstance(experiment, Experiment) else experiment}/{route}"


def variant_url(experiment, lead_id):
    return url(experiment, f"variant/{lead_id}/")


def post(client, path, body=None):
    return client.post(path, body, format="json")


def record_body(lead_id, key, *, metric="meeting_booked", value=1, **extra):
    return {"leadId": lead_id, "metric": metric, "value": value, "idempotencyKey": key, **extra}


@pytest.fixture(params=CLIENTS)
def client(request):
    """Each test once as an integration (API key) and once as a signed-in manager."""
    return request.getfixturevalue(request.param)


# --- create ---------------------------------------------------------------------------------


def test_create_answers_201_with_a_draft_in_the_seeds_names(client, org):
    response = post(client, CREATE, TACTICS)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == EXPERIMENT_FIELDS
    assert (body["status"], body["key"], body["name"]) == ("draft", "psychology-tactics",
                                                           "Psychology tactics")
    assert (body["targetMetric"], body["sampleSize"], body["durationDays"]) == (
        "meeting_booked", 1050, 14)
    assert body["startedAt"] is None and body["endedAt"] is None
    assert body["variants"] == [
        {"id": "control", "name": "Control", "isControl": True, "allocation": 50, "config": {},
         "rolledBackAt": None},
        {"id": "scarcity", "name": "Scarcity-heavy", "isControl": False, "allocation": 25,
         "config": {"tactic": "scarcity"}, "rolledBackAt": None},
        {"id": "social-proof", "name": "Social-proof-heavy", "isControl": False,
         "allocation": 25, "config": {"tactic": "social_proof"}, "rolledBackAt": None},
    ]
    assert body["killSwitch"] == {"errorRateUp": 0.5, "responseTimeUp": 0.3,
                                  "hallucinationRateUp": 1.0, "objectionRateUp": 0.8,
                                  "minExposure": 100}
    experiment = Experiment.objects.for_org(org).get()
    assert body["id"] == experiment.pk
    assert AuditEvent.objects.for_org(org).filter(action="experiment.create").count() == 1


def test_sample_size_and_duration_are_taken_and_omitted_allocations_split_evenly(key_client):
    variants = [{"id": k, "name": k.upper(), "isControl": k == "b"} for k in ("a", "b", "c")]
    body = post(key_client, CREATE, {"name": "Even", "variants": variants,
                                     "targetMetric": "replied", "sampleSize": 300,
                                     "duration": 7}).json()
    assert [v["allocation"] for v in body["variants"]] == [33, 34, 33]
    assert (body["sampleSize"], body["durationDays"]) == (300, 7)


def _with(**changes):
    return {**TACTICS, **changes}


def _variants(*rows):
    return [{"id": i, "name": i.title(), "isControl": c, "allocation": a} for i, c, a in rows]


@pytest.mark.parametrize(("body", "field", "says"), [
    (_with(variants=_variants(("a", True, 50), ("b", True, 50))), "variants.isControl",
     "exactly one variant as the control (2 marked)"),
    (_with(variants=_variants(("a", False, 50), ("b", False, 50))), "variants.isControl",
     "(0 marked)"),
    (_with(variants=_variants(("a", True, 50), ("b", False, 40))), "variants.allocation",
     "Allocations must sum to 100 (they sum to 90)"),
    (_with(variants=[{"id": "a", "name": "A", "isControl": True, "allocation": 50},
                     {"id": "b", "name": "B", "isControl": False}]), "variants.allocation",
     "Give every variant an allocation, or none"),
    (_with(variants=_variants(("a", True, 50), ("a", False, 50))), "variants.id",
     "Variant ids must be unique; repeated: a"),
    (_with(variants=_variants(("a b", True, 50), ("c", False, 50))), "variants.id",
     "Give each variant an id of 1 to 64"),
    (_with(variants=_variants(("a", True, 100))), "variants", "at least two variants"),
    (_with(variants=[]), "variants", "at least two variants"),
    (_with(targetMetric="Has Spaces"), "targetMetric", "metric"),
    (_with(sampleSize=0), "sampleSize", "greater than or equal to 1"),
    (_with(duration=400), "duration", "less than or equal to 365"),
    (_with(name="   "), "name", "blank"),
])
def test_each_error_names_the_field_as_the_caller_sent_it_and_creates_nothing(
    key_client, body, field, says
):
    response = post(key_client, CREATE, body)
    error = assert_error_shape(response, 400)
    assert list(error["fields"]) == [field], error
    assert error["message"].startswith(f"{field}: ") and says in error["message"], error
    # The service's own names never reach the caller.
    text = response.content.decode()
    for service_name in ("weight", "is_control", "variants.key", "target_metric",
                         "min_sample_per_variant", "duration_days"):
        assert service_name not in text, text
    assert not Experiment.objects.exists() and not Variant.objects.exists()


def test_a_created_experiment_is_started_and_a_second_start_is_a_conflict(client):
    created = post(client, CREATE, TACTICS).json()
    started = post(client, url(created["id"], "start/"))
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "running" and started.json()["startedAt"]
    again = assert_error_shape(post(client, url(created["id"], "start/")), 409,
                               "experiment_status_refused")
    assert list(again["fields"]) == ["status"]


# --- stop -----------------------------------------------------------------------------------


def test_stop_answers_the_stopped_experiment_and_a_second_stop_says_it_has_ended(client, org):
    experiment = make_experiment(org)
    response = post(client, url(experiment, "stop/"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "stopped" and body["endedAt"] is not None
    assert set(body) == EXPERIMENT_FIELDS
    error = assert_error_shape(post(client, url(experiment, "stop/")), 409,
                               "experiment_status_refused")
    assert error["message"] == "status: A stopped experiment cannot be stopped."
    assert Experiment.objects.get(pk=experiment.pk).status == ExperimentStatus.STOPPED


# --- a lead's variant -----------------------------------------------------------------------


def test_a_lead_gets_its_variant_and_the_same_one_every_time(client, org):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    first = client.get(variant_url(experiment, lead))
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["experimentId"], body["leadId"]) == (experiment.pk, lead)
    assigned = Assignment.objects.get(experiment=experiment, subject_id=lead).variant
    assert body["variant"] == {"id": assigned.key, "name": assigned.name,
                               "isControl": assigned.is_control, "config": assigned.config}
    assert client.get(variant_url(experiment, lead)).json() == body
    assert Assignment.objects.filter(experiment=experiment).count() == 1


def test_the_variants_follow_the_allocations(key_client, org):
    experiment = make_experiment(org)
    keys = {key_client.get(variant_url(experiment, lead)).json()["variant"]["id"]
            for lead in make_lead_ids(org, 40)}
    assert keys == {"control", "scarcity", "social-proof"}


@pytest.mark.parametrize("case", ["draft", "stopped", "ab_testing_off"])
def test_control_while_not_running_or_with_ab_testing_off_and_nothing_stored(
    key_client, org, settings, case
):
    experiment = make_experiment(org, start=case != "draft")
    if case == "stopped":
        services.experiment_stop(org=org, experiment=experiment, actor=SETUP_ACTOR)
    settings.ENABLE_AB_TESTING = case != "ab_testing_off"
    answers = [key_client.get(variant_url(experiment, lead)).json()["variant"]
               for lead in make_lead_ids(org, 10)]
    assert {a["id"] for a in answers} == {"control"} and all(a["isControl"] for a in answers)
    assert not Assignment.objects.exists()


def test_another_tenants_lead_is_not_found_like_a_lead_that_does_not_exist(
    key_client, org, other_org
):
    experiment = make_experiment(org)
    theirs = make_lead_id(other_org)
    foreign = key_client.get(variant_url(experiment, theirs))
    missing = key_client.get(variant_url(experiment, theirs + 1000))
    error = assert_error_shape(foreign, 404, "not_found")
    assert error["message"] == "No such lead."
    assert foreign.json() == missing.json()
    for odd in ("0", "-3", "abc", "1e3", "99999999999999999999", "%D9%A3"):
        assert key_client.get(variant_url(experiment, odd)).json() == missing.json(), odd
    assert not Assignment.objects.exists()


# --- record ---------------------------------------------------------------------------------


def test_record_answers_201_then_200_on_a_replay_and_409_for_another_observation(client, org):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    assigned = client.get(variant_url(experiment, lead)).json()["variant"]["id"]

    first = post(client, url(experiment, "record/"), record_body(lead, "msg-1:booked"))
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["replayed"] is False
    observation = body["observation"]
    assert {k: observation[k] for k in ("leadId", "variant", "metric", "value",
                                        "idempotencyKey")} == {
        "leadId": lead, "variant": assigned, "metric": "meeting_booked", "value": 1.0,
        "idempotencyKey": "msg-1:booked"}
    assert observation["observedAt"]

    replay = post(client, url(experiment, "record/"), record_body(lead, "msg-1:booked"))
    assert replay.status_code == 200, replay.content
    assert replay.json() == {**body, "replayed": True}

    error = assert_error_shape(
        post(client, url(experiment, "record/"), record_body(lead, "msg-1:booked", value=2)),
        409, "idempotency_key_reused")
    assert list(error["fields"]) == ["idempotencyKey"]
    assert error["message"].startswith("idempotencyKey: ")
    assert Observation.objects.count() == 1


def test_record_keeps_the_time_it_is_given(key_client, org):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    key_client.get(variant_url(experiment, lead))
    body = post(key_client, url(experiment, "record/"),
                record_body(lead, "k", observedAt="2025-03-01T10:00:00+05:30")).json()
    assert body["observation"]["observedAt"].startswith("2025-03-01T")
    assert Observation.objects.get().observed_at.isoformat() == "2025-03-01T04:30:00+00:00"


def test_a_lead_without_a_variant_here_or_of_another_tenant_is_refused_naming_lead_id(
    key_client, org, other_org
):
    experiment = make_experiment(org)
    theirs = make_experiment(other_org)
    their_lead = make_lead_id(other_org)
    services.variant_for(org=other_org, experiment=theirs, subject_id=their_lead)
    for lead in (make_lead_id(org), their_lead):
        error = assert_error_shape(
            post(key_client, url(experiment, "record/"), record_body(lead, f"k{lead}")), 400,
            "observation_invalid")
        assert list(error["fields"]) == ["leadId"]
        assert error["message"] == "leadId: This lead holds no variant in this experiment."
    assert not Observation.objects.exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"metric": "Has Spaces"}, "metric"),
    ({"metric": ""}, "metric"),
    ({"idempotencyKey": ""}, "idempotencyKey"),
    ({"idempotencyKey": "k" * 256}, "idempotencyKey"),
    ({"leadId": 0}, "leadId"),
    ({"observedAt": "yesterday"}, "observedAt"),
])
def test_an_observation_that_cannot_be_recorded_names_its_field(key_client, org, changes,
                                                                field):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    key_client.get(variant_url(experiment, lead))
    response = post(key_client, url(experiment, "record/"), {**record_body(lead, "k"),
                                                             **changes})
    error = assert_error_shape(response, 400)
    assert list(error["fields"]) == [field] and error["message"].startswith(f"{field}: ")
    assert not Observation.objects.exists()


# --- results --------------------------------------------------------------------------------


def test_results_report_every_variant_as_the_statistics_compute_them(client, org):
    experiment = make_experiment(org, min_sample_per_variant=20)
    leads = make_lead_ids(org, 120)
    for lead in leads:
        key = services.variant_for(org=org, experiment=experiment, subject_id=lead).key
        if lead % (2 if key == "scarcity" else 5) == 0:
            services.observation_record(org=org, experiment=experiment, subject_id=lead,
                                        metric="meeting_booked", value=1,
                                        idempotency_key=f"{lead}:booked")
    response = client.get(url(experiment, "results/"))
    assert response.status_code == 200, response.content
    body = response.json()
    expected = selectors.experiment_results(org, experiment)

    assert (body["experimentId"], body["status"], body["targetMetric"]) == (
        experiment.pk, "running", "meeting_booked")
    assert (body["minSample"], body["alpha"], body["minSampleReached"]) == (
        20, expected.alpha, expected.min_sample_reached)
    assert body["verdictBasis"] == expected.verdict_basis
    assert body["winner"] == (expected.winner.key if expected.winner else None)
    rows = {row["id"]: row for row in body["variants"]}
    assert [row["id"] for row in body["variants"]] == ["control", "scarcity", "social-proof"]
    assert all(set(row) == RESULT_FIELDS for row in body["variants"])
    control = rows["control"]
    assert (control["isControl"], control["name"], control["n"]) == (
        True, "Control", expected.control.n)
    assert control["lift"] is None and control["liftCi"] is None and control["verdict"] is None
    for result in expected.variants:
        row = rows[result.key]
        assert (row["n"], row["conversions"], row["rate"]) == (result.n, result.conversions,
                                                               result.rate)
        assert row["liftCi"] == [result.lift_ci_low, result.lift_ci_high]
        assert row["alwaysValidCi"] == [result.always_valid_low, result.always_valid_high]
        assert (row["lift"], row["relativeLift"], row["z"], row["pValue"], row["pValueHolm"],
                row["mde"], row["alwaysValidPValue"]) == (
            result.lift, result.relative_lift, result.z, result.p_value, result.p_value_holm,
            result.mde, result.always_valid_p_value)
        assert (row["verdict"], row["fixedHorizonVerdict"], row["minSampleReached"]) == (
            result.verdict, result.fixed_horizon_verdict, result.min_sample_reached)
    srm = body["srm"]
    assert set(srm) == {"observed", "expected", "chi2", "pValue", "mismatch"}
    assert srm["observed"] == {key: rows[key]["n"] for key in rows}
    assert srm["expected"]["control"] == pytest.approx(len(leads) / 2)
    assert (srm["chi2"], srm["pValue"], srm["mismatch"]) == (
        expected.srm.chi2, expected.srm.p_value, expected.srm.mismatch)


def test_results_before_any_subject_have_no_verdicts_no_srm_and_no_winner(key_client, org):
    body = key_client.get(url(make_experiment(org), "results/")).json()
    assert body["srm"] is None and body["winner"] is None
    assert all(row["n"] == 0 and row["rate"] is None and row["verdict"] is None
               for row in body["variants"])


# --- list and detail ------------------------------------------------------------------------


def test_the_list_is_the_tenants_own_newest_first_paginated_and_filtered_by_status(
    client, org, other_org
):
    draft = make_experiment(org, name="Draft", start=False)
    running = make_experiment(org, name="Running")
    make_experiment(other_org, name="Theirs")
    body = client.get(BASE).json()
    assert body["count"] == 2 and [row["id"] for row in body["results"]] == [running.pk,
                                                                               draft.pk]
    assert set(body["results"][0]) == EXPERIMENT_FIELDS
    assert [row["id"] for row in client.get(BASE, {"status": "draft"}).json()["results"]] == [
        draft.pk]
    page = client.get(BASE, {"limit": 1, "offset": 1}).json()
    assert [row["id"] for row in page["results"]] == [draft.pk] and page["previous"]
    assert_error_shape(client.get(BASE, {"status": "paused"}), 400, "validation_failed")


def test_the_list_costs_the_same_queries_for_2_and_for_12_experiments(key_client, org):
    for index in range(2):
        make_experiment(org, name=f"E{index}")
    key_client.get(BASE)  # the key's first use records last_used_at once
    with CaptureQueriesContext(connection) as small:
        assert key_client.get(BASE).json()["count"] == 2
    for index in range(2, 12):
        make_experiment(org, name=f"E{index}")
    with CaptureQueriesContext(connection) as large:
        assert key_client.get(BASE).json()["count"] == 12
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_the_detail_shows_the_experiment_with_its_variants_and_thresholds(client, org):
    experiment = make_experiment(org, min_sample_per_variant=400, duration_days=21)
    body = client.get(url(experiment)).json()
    assert set(body) == EXPERIMENT_FIELDS
    assert (body["id"], body["status"], body["sampleSize"], body["durationDays"]) == (
        experiment.pk, "running", 400, 21)
    assert body["startedAt"] is not None and body["endedAt"] is None
    assert [v["id"] for v in body["variants"]] == ["control", "scarcity", "social-proof"]
    assert body["killSwitch"]["minExposure"] == 100
