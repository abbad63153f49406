import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from flexoraa.models import ApiKey, AuditEvent, Membership, Organization
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db


def seed_json(capsys) -> dict:
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


def test_seed_demo_prints_logins_key_and_ids_as_one_json_object(capsys):
    report = seed_json(capsys)
    assert report["organization"]["slug"] == "demo"
    assert report["manager"]["role"] == "manager"
    assert [sdr["capacity"] for sdr in report["sdrs"]] == [5, 10, 15]
    assert set(report["channels"]) == {"whatsapp", "instagram", "messenger"}
    assert report["channels"]["whatsapp"]["phone_number_id"]
    assert report["channels"]["instagram"]["account_id"]
    assert report["channels"]["messenger"]["page_id"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {report['api_key']['key']}")
    assert client.get("/api/me/").json()["organization"]["slug"] == "demo"
    assert client.login(username=report["sdrs"][0]["username"],
                        password=report["sdrs"][0]["password"])


def test_seed_demo_is_idempotent(capsys):
    first = seed_json(capsys)
    counts = (Organization.objects.count(), Membership.objects.count(), ApiKey.objects.count(),
              AuditEvent.objects.count())
    second = seed_json(capsys)
    assert first == second
    assert counts == (Organization.objects.count(), Membership.objects.count(),
                      ApiKey.objects.count(), AuditEvent.objects.count())


def test_seed_demo_makes_a_revoked_demo_key_work_again(capsys):
    from flexoraa import services

    report = seed_json(capsys)
    demo_key = ApiKey.objects.get(pk=report["api_key"]["id"])
    services.api_key_revoke(org=demo_key.organization, api_key=demo_key, actor=SETUP_ACTOR)
    seed_json(capsys)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {report['api_key']['key']}")
    assert client.get("/api/me/").status_code == 200
    assert AuditEvent.objects.filter(action="api_key.reinstated").count() == 1


def test_the_openapi_schema_is_valid_openapi_3(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert "/api/memberships/{id}/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    detail = schema["paths"]["/api/memberships/{id}/"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404", "413", "415"} <= set(detail)
    assert detail["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]


def test_the_api_docs_load_only_local_assets(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs"):
        assert cdn not in page
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_beats_table_lists_the_declared_jobs_after_seeding(capsys):
    seed_json(capsys)
    assert PeriodicTask.objects.filter(name="flexoraa.audit_chain_check", enabled=True).exists()
