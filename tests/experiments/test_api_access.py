"""The experiments API's doors: who may use each route (managers, owners and API keys; SDRs
refused; nobody without credentials), another tenant's experiment answered like a missing one,
and every route in the OpenAPI schema with its bodies in the seed's names."""

import pytest
from rest_framework.test import APIClient

from experiments import services
from experiments.models import Assignment, Experiment, ExperimentStatus, Observation
from flexoraa.models import AuditEvent, Role
from tests.experiments.factories import make_experiment, make_lead_id
from tests.experiments.test_api import (
    BASE,
    CLIENTS,
    CREATE,
    TACTICS,
    post,
    record_body,
    url,
    variant_url,
)
from tests.factories import make_membership
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


# --- who may -------------------------------------------------------------------------------


def every_route(experiment, lead_id):
    return [
        ("get", BASE, None), ("get", url(experiment), None),
        ("post", CREATE, TACTICS), ("post", url(experiment, "start/"), None),
        ("post", url(experiment, "stop/"), None), ("get", url(experiment, "results/"), None),
        ("post", url(experiment, "record/"), record_body(lead_id, "k")),
        ("get", variant_url(experiment, lead_id), None),
    ]


def test_an_sdr_is_refused_on_every_route_and_nothing_changes(org, sdr):
    experiment = make_experiment(org, start=False)
    client = APIClient()
    client.force_login(sdr.user)
    for method, path, body in every_route(experiment, make_lead_id(org)):
        response = getattr(client, method)(path, body, format="json")
        assert_error_shape(response, 403, "permission_denied")
    assert Experiment.objects.count() == 1
    assert Experiment.objects.get().status == ExperimentStatus.DRAFT
    assert not Assignment.objects.exists() and not Observation.objects.exists()


def test_an_owner_may_use_the_routes(org):
    client = APIClient()
    client.force_login(make_membership(org, role=Role.OWNER).user)
    assert post(client, CREATE, TACTICS).status_code == 201


def test_without_credentials_every_route_is_401(org):
    experiment = make_experiment(org)
    for method, path, body in every_route(experiment, make_lead_id(org)):
        response = getattr(APIClient(), method)(path, body, format="json")
        assert_error_shape(response, 401, "not_authenticated")


def test_every_route_with_another_tenants_experiment_answers_like_a_missing_one(
    key_client, org, other_org
):
    theirs = make_experiment(other_org)
    their_lead = make_lead_id(other_org)
    services.variant_for(org=other_org, experiment=theirs, subject_id=their_lead)
    missing = Experiment.objects.order_by("-pk").first().pk + 1000
    own_lead = make_lead_id(org)
    before = (Assignment.objects.count(), Observation.objects.count(),
              AuditEvent.objects.count())
    for lead in (own_lead, their_lead):
        routes = [(m, p, b) for m, p, b in every_route(theirs, lead) if "/create/" not in p
                  and p != BASE]
        for method, path, body in routes:
            foreign = getattr(key_client, method)(path, body, format="json")
            absent = getattr(key_client, method)(path.replace(f"/{theirs.pk}/", f"/{missing}/"),
                                                 body, format="json")
            assert_error_shape(foreign, 404, "not_found")
            assert foreign.json() == absent.json(), path
    assert theirs.pk not in [row["id"] for row in key_client.get(BASE).json()["results"]]
    theirs.refresh_from_db()
    assert theirs.status == ExperimentStatus.RUNNING
    assert (Assignment.objects.count(), Observation.objects.count(),
            AuditEvent.objects.count()) == before


# --- the OpenAPI schema ---------------------------------------------------------------------


@pytest.fixture(params=CLIENTS)
def either_client(request):
    """The integration's key, then the manager's session."""
    return request.getfixturevalue(request.param)


def test_the_schema_documents_every_route_with_its_bodies_in_the_seeds_names(either_client):
    client = either_client
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    routes = {
        ("/api/experiments/", "get"), ("/api/experiments/{id}/", "get"),
        ("/api/experiments/create/", "post"), ("/api/experiments/{id}/start/", "post"),
        ("/api/experiments/{id}/stop/", "post"), ("/api/experiments/{id}/results/", "get"),
        ("/api/experiments/{id}/record/", "post"),
        ("/api/experiments/{id}/variant/{leadId}/", "get"),
    }
    assert {(p, m) for p, ops in paths.items() if p.startswith(BASE) for m in ops} == routes
    components = schema["components"]["schemas"]

    def body_schema(path, method="post"):
        ref = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    create = body_schema("/api/experiments/create/")
    assert {"name", "variants", "targetMetric"} <= set(create["required"])
    assert {"sampleSize", "duration"} <= set(create["properties"])
    variant = components[create["properties"]["variants"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert {"id", "name", "isControl", "allocation", "config"} == set(variant["properties"])
    record = body_schema("/api/experiments/{id}/record/")
    assert {"leadId", "metric", "value", "idempotencyKey"} <= set(record["required"])
    assert "observedAt" in record["properties"]
    assert {"200", "201", "409"} <= set(paths["/api/experiments/{id}/record/"]["post"]
                                        ["responses"])
    assert "409" in paths["/api/experiments/{id}/stop/"]["post"]["responses"]
    parameters = {p["name"]: p for p in paths["/api/experiments/{id}/variant/{leadId}/"]["get"]
                  ["parameters"]}
    assert parameters["leadId"]["schema"]["type"] == "integer"
    text = response.content.decode()
    for name in ("isControl", "allocation", "targetMetric", "leadId", "alwaysValidCi",
                 "verdictBasis", "pValueHolm"):
        assert f'"{name}"' in text, name
