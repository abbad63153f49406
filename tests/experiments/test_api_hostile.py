"""Hostile bodies at the experiments' create and record routes: each is a 4xx in the one error
shape naming the field (where there is one), never a 5xx, and nothing is half-written: the
experiments, variants, assignments, observations and audit events are counted after."""

import json

import pytest
from django.conf import settings

from experiments.models import Assignment, Experiment, Observation, Variant
from flexoraa.models import AuditEvent
from tests.experiments.factories import make_experiment, make_lead_id
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

CREATE = "/api/experiments/create/"

GOOD = {
    "name": "Tactics",
    "variants": [
        {"id": "control", "name": "Control", "isControl": True, "allocation": 50},
        {"id": "scarcity", "name": "Scarcity", "isControl": False, "allocation": 50},
    ],
    "targetMetric": "meeting_booked",
}


def rows():
    return {model.__name__: model.objects.count()
            for model in (Experiment, Variant, Assignment, Observation, AuditEvent)}


def send(client, path, body, content_type="application/json"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", path, raw, content_type=content_type)


def variant(index: int, **changes) -> dict:
    """``changes`` to the GOOD body's variant at ``index``."""
    variants = [dict(v) for v in GOOD["variants"]]
    variants[index].update(changes)
    return {**GOOD, "variants": variants}


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


# (case, body, status, code or None, field named or None)
HOSTILE_CREATES = [
    ("not JSON", b"name=Tactics", 400, "malformed_json", None),
    ("truncated JSON", b'{"name": "Tactics", "variants": [', 400, "malformed_json", None),
    ("a list instead of an object", [GOOD], 400, "validation_failed", "non_field_errors"),
    ("a string instead of an object", "Tactics", 400, "validation_failed", "non_field_errors"),
    ("null instead of an object", None, 400, "validation_failed", "non_field_errors"),
    ("variants as an object", {**GOOD, "variants": {"0": GOOD["variants"][0]}}, 400,
     "validation_failed", "variants"),
    ("a variant as a string", {**GOOD, "variants": ["control", "scarcity"]}, 400,
     "validation_failed", "variants"),
    ("config nested past the limit", variant(0, config=deep(40)), 400, "too_deep", None),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, 400, "too_deep", None),
    ("a name of 10,000 characters", {**GOOD, "name": "x" * 10_000}, 400, "validation_failed",
     "name"),
    ("a variant id of 100,000 characters", variant(0, id="a" * 100_000), 400,
     "validation_failed", "variants.id"),
    ("a body over the limit", {**GOOD, "name": "x" * settings.REQUEST_BODY_LIMIT_BYTES}, 413,
     "body_too_large", None),
    ("NaN as an allocation", b'{"name": "T", "variants": [{"id": "a", "name": "A", '
     b'"isControl": true, "allocation": NaN}], "targetMetric": "m"}', 400, "malformed_json",
     "variants.0.allocation"),
    ("Infinity as the sample size", b'{"name": "T", "variants": [], "targetMetric": "m", '
     b'"sampleSize": Infinity}', 400, "malformed_json", "sampleSize"),
    ("true as an allocation", variant(1, allocation=True), 400, "validation_failed",
     "variants.allocation"),
    ("text as an allocation", variant(1, allocation="50"), 400, "validation_failed",
     "variants.allocation"),
    ("a fraction as an allocation", variant(1, allocation=49.5), 400, "validation_failed",
     "variants.allocation"),
    ("a negative allocation", variant(1, allocation=-50), 400, "validation_failed",
     "variants.allocation"),
    ("an allocation past a float", variant(1, allocation=10**400), 400, "validation_failed",
     "variants.allocation"),
    ("true as the sample size", {**GOOD, "sampleSize": True}, 400, "validation_failed",
     "sampleSize"),
    ("false as the duration", {**GOOD, "duration": False}, 400, "validation_failed",
     "duration"),
    ("1 as isControl", variant(0, isControl=1), 400, "validation_failed", "variants.isControl"),
    ("'true' as isControl", variant(0, isControl="true"), 400, "validation_failed",
     "variants.isControl"),
    ("a number as the name", {**GOOD, "name": 12}, 400, "validation_failed", "name"),
    ("null as the name", {**GOOD, "name": None}, 400, "validation_failed", "name"),
    ("a list as config", variant(0, config=["scarcity"]), 400, "validation_failed",
     "variants.config"),
    ("an unknown field", {**GOOD, "status": "running"}, 400, "validation_failed", "status"),
    ("an unknown field in a variant", variant(0, weight=50), 400, "validation_failed",
     "variants.weight"),
    ("the service's own names", {**GOOD, "target_metric": "x"}, 400, "validation_failed",
     "target_metric"),
    ("10,000 variants", {**GOOD, "variants": [
        {"id": f"v{i}", "name": f"V{i}", "isControl": i == 0} for i in range(10_000)]}, 400,
     "validation_failed", "variants"),
    ("21 variants", {**GOOD, "variants": [
        {"id": f"v{i}", "name": f"V{i}", "isControl": i == 0} for i in range(21)]}, 400,
     "validation_failed", "variants"),
    ("an accented variant id", variant(0, id="contrôle"), 400, "experiment_invalid",
     "variants.id"),
    ("a zero-width space in a variant id", variant(0, id="con\u200btrol"), 400,
     "experiment_invalid", "variants.id"),
    ("an emoji variant id", variant(0, id="\U0001f525"), 400, "experiment_invalid",
     "variants.id"),
    ("a right-to-left override in the name", {**GOOD, "name": "\u202eTactics"}, 400,
     "validation_failed", "name"),
    ("a name of only zero-width spaces", {**GOOD, "name": "\u200b\u200b"}, 400,
     "validation_failed", "name"),
    ("an escape character in a variant name", variant(1, name="Scar\x1b[31mcity"), 400,
     "validation_failed", "variants.name"),
    ("a NUL in the name", b'{"name": "Tac\\u0000tics", "variants": [], "targetMetric": "m"}',
     400, "unstorable_text", "name"),
    ("a NUL in a variant id", b'{"name": "T", "variants": [{"id": "a\\u0000", "name": "A", '
     b'"isControl": true}], "targetMetric": "m"}', 400, "unstorable_text", "variants.0.id"),
    ("a lone surrogate in config", b'{"name": "T", "variants": [{"id": "a", "name": "A", '
     b'"isControl": true, "config": {"t": "\\ud800"}}], "targetMetric": "m"}', 400,
     "unstorable_text", "variants.0.config.t"),
]


@pytest.mark.parametrize(("case", "body", "status", "code", "field"), HOSTILE_CREATES,
                         ids=[case[0] for case in HOSTILE_CREATES])
def test_a_hostile_create_is_refused_naming_the_field_and_nothing_is_written(
    key_client, org, case, body, status, code, field
):
    before = rows()
    response = send(key_client, CREATE, body)
    error = assert_error_shape(response, status, code)
    if field is not None:
        assert field in error["fields"], error
        assert all(isinstance(m, str) for ms in error["fields"].values() for m in ms), error
    if field not in (None, "non_field_errors"):
        assert error["message"].startswith(f"{field}: "), error
    assert rows() == before


def test_a_variants_error_says_which_variant(key_client):
    error = send(key_client, CREATE, variant(1, allocation="50")).json()["error"]
    assert error["fields"] == {"variants.allocation": [
        "Variant 2: Give a whole number (not text or true/false)."]}


def test_ten_thousand_variants_are_refused_without_reading_each(key_client,
                                                                django_assert_max_num_queries):
    body = {**GOOD, "variants": [{"id": f"v{i}", "name": f"V{i}", "isControl": i == 0}
                                 for i in range(10_000)]}
    with django_assert_max_num_queries(3):  # the key's lookup and its last use, no more
        response = send(key_client, CREATE, body)
    assert response.json()["error"]["message"] == "variants: Give at most 20 variants."


def test_odd_but_readable_unicode_in_names_is_kept_as_it_is(key_client):
    name = "Zoë's 🔥 تجربة tactics"
    response = send(key_client, CREATE, {**variant(1, name="Scarcity 🔥"), "name": name})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == name and body["variants"][1]["name"] == "Scarcity 🔥"


# --- record ---------------------------------------------------------------------------------


@pytest.fixture
def running(org):
    experiment = make_experiment(org)
    lead = make_lead_id(org)
    from experiments import services

    services.variant_for(org=org, experiment=experiment, subject_id=lead)
    return experiment, lead


def good_record(lead: int, **changes) -> dict:
    return {"leadId": lead, "metric": "meeting_booked", "value": 1, "idempotencyKey": "k",
            **changes}


def hostile_records(lead: int):
    # (case, body, status, code or None, field named or None)
    return [
        ("not JSON", b"leadId=1&value=1", 400, "malformed_json", None),
        ("a list instead of an object", [good_record(lead)], 400, "validation_failed",
         "non_field_errors"),
        ("a number instead of an object", 5, 400, "validation_failed", "non_field_errors"),
        ("deep nesting", b"{" + b'"a": {' * 1000 + b"}" * 1001, 400, "too_deep", None),
        ("a key of 100,000 characters", good_record(lead, idempotencyKey="k" * 100_000), 400,
         "validation_failed", "idempotencyKey"),
        ("a metric of 10,000 characters", good_record(lead, metric="m" * 10_000), 400,
         "validation_failed", "metric"),
        ("NaN as the value", b'{"leadId": %d, "metric": "m", "value": NaN, '
         b'"idempotencyKey": "k"}' % lead, 400, "malformed_json", "value"),
        ("-Infinity as the value", b'{"leadId": %d, "metric": "m", "value": -Infinity, '
         b'"idempotencyKey": "k"}' % lead, 400, "malformed_json", "value"),
        ("1e999 as the value", b'{"leadId": %d, "metric": "m", "value": 1e999, '
         b'"idempotencyKey": "k"}' % lead, 400, "malformed_json", "value"),
        ("an integer past a float as the value", good_record(lead, value=10**400), 400,
         "validation_failed", "value"),
        ("true as the value", good_record(lead, value=True), 400, "validation_failed",
         "value"),
        ("text as the value", good_record(lead, value="1"), 400, "validation_failed", "value"),
        ("true as the lead id", good_record(lead, leadId=True), 400, "validation_failed",
         "leadId"),
        ("text as the lead id", good_record(lead, leadId=str(lead)), 400, "validation_failed",
         "leadId"),
        ("a lead id past bigint", good_record(lead, leadId=2**64), 400, "validation_failed",
         "leadId"),
        ("a negative lead id", good_record(lead, leadId=-lead), 400, "validation_failed",
         "leadId"),
        ("a lead that does not exist", good_record(lead, leadId=lead + 1000), 400,
         "observation_invalid", "leadId"),
        ("a number as the key", good_record(lead, idempotencyKey=7), 400, "validation_failed",
         "idempotencyKey"),
        ("an object as the metric", good_record(lead, metric={"a": 1}), 400,
         "validation_failed", "metric"),
        ("a metric in capitals and spaces", good_record(lead, metric="Meeting Booked"), 400,
         "observation_invalid", "metric"),
        ("a unicode metric", good_record(lead, metric="réservé"), 400, "observation_invalid",
         "metric"),
        ("a time that is not one", good_record(lead, observedAt="tomorrow-ish"), 400,
         "validation_failed", "observedAt"),
        ("a time past year 9999", good_record(lead, observedAt="9999-12-31T23:59:59-23:00"),
         400, "validation_failed", "observedAt"),
        ("a number as the time", good_record(lead, observedAt=1700000000), 400,
         "validation_failed", "observedAt"),
        ("an unknown field", good_record(lead, variant="scarcity"), 400, "validation_failed",
         "variant"),
        ("a snake_case field", good_record(lead, idempotency_key="k"), 400,
         "validation_failed", "idempotency_key"),
        ("a NUL in the key", b'{"leadId": %d, "metric": "m", "value": 1, '
         b'"idempotencyKey": "k\\u0000"}' % lead, 400, "unstorable_text", "idempotencyKey"),
        ("a lone surrogate in the metric", b'{"leadId": %d, "metric": "\\udc00", "value": 1, '
         b'"idempotencyKey": "k"}' % lead, 400, "unstorable_text", "metric"),
    ]


RECORD_CASES = [case[0] for case in hostile_records(1)]


@pytest.mark.parametrize("case", RECORD_CASES)
def test_a_hostile_record_is_refused_naming_the_field_and_nothing_is_written(
    key_client, running, case
):
    experiment, lead = running
    _, body, status, code, field = next(c for c in hostile_records(lead) if c[0] == case)
    before = rows()
    response = send(key_client, f"/api/experiments/{experiment.pk}/record/", body)
    error = assert_error_shape(response, status, code)
    if field is not None:
        assert field in error["fields"], error
    if field not in (None, "non_field_errors"):
        assert error["message"].startswith(f"{field}: "), error
    assert rows() == before


def test_after_the_hostile_bodies_a_good_record_still_goes_through(key_client, running):
    experiment, lead = running
    path = f"/api/experiments/{experiment.pk}/record/"
    for _, body, *_ in hostile_records(lead)[:6]:
        send(key_client, path, body)
    assert send(key_client, path, good_record(lead)).status_code == 201
    assert Observation.objects.count() == 1
