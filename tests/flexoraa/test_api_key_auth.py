from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flexoraa import api_keys, services
from flexoraa.models import ApiKey
from tests.factories import SETUP_ACTOR
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def test_a_request_without_a_key_is_refused_with_401_in_the_error_shape(db):
    response = client_with(None).get("/api/me/")
    error = assert_error_shape(response, 401, "not_authenticated")
    assert "credentials" in error["message"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer one two", "Bearer not-a-flexoraa-key", "Bearer flx_short_secret",
     "Bearer flx_abcdefgh_"],
)
def test_a_malformed_key_is_refused_with_401(org, header):
    response = client_with(header).get("/api/me/")
    assert_error_shape(response, 401, "authentication_failed")


def test_a_wrong_secret_with_a_real_prefix_is_refused(api_key):
    _key, raw = api_key
    tampered = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    response = client_with(f"Bearer {tampered}").get("/api/me/")
    error = assert_error_shape(response, 401, "authentication_failed")
    assert error["message"] == "The API key is not valid."


def test_a_revoked_key_is_refused_and_says_so(org, api_key):
    key, raw = api_key
    services.api_key_revoke(org=org, api_key=key, actor=SETUP_ACTOR)
    response = client_with(f"Bearer {raw}").get("/api/me/")
    error = assert_error_shape(response, 401, "authentication_failed")
    assert "revoked" in error["message"]


def test_a_valid_key_acts_for_its_own_organization_only(org, other_org, api_key, other_api_key):
    response = client_with(f"Bearer {api_key[1]}").get("/api/me/")
    assert response.status_code == 200
    assert response.json()["organization"]["slug"] == org.slug
    assert response.json()["role"] == "integration"
    response = client_with(f"Bearer {other_api_key[1]}").get("/api/me/")
    assert response.json()["organization"]["slug"] == other_org.slug


def test_a_key_is_stored_only_as_a_hash(api_key):
    key, raw = api_key
    stored = ApiKey.objects.get(pk=key.pk)
    assert raw not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == api_keys.hash_key(raw)
    assert raw.startswith(f"flx_{stored.prefix}_")


def test_using_a_key_records_its_last_use_at_most_once_a_minute(api_key):
    key, raw = api_key
    client = client_with(f"Bearer {raw}")
    client.get("/api/me/")
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    client.get("/api/me/")
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/me/")
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


def test_a_created_key_is_shown_once_and_then_only_by_prefix(manager_client):
    response = manager_client.post("/api/api-keys/", {"name": "Zapier"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["key"].startswith(f"flx_{created['prefix']}_")
    assert client_with(f"Bearer {created['key']}").get("/api/me/").status_code == 200
    detail = manager_client.get(f"/api/api-keys/{created['id']}/").json()
    assert "key" not in detail
    assert detail["prefix"] == created["prefix"]


def test_creating_a_key_without_a_name_is_a_400_naming_the_field(manager_client):
    response = manager_client.post("/api/api-keys/", {"name": ""}, format="json")
    error = assert_error_shape(response, 400, "validation_failed")
    assert "name" in error["fields"]


def test_deleting_a_key_revokes_it_and_keeps_the_row(org, manager_client):
    created = manager_client.post("/api/api-keys/", {"name": "CRM sync"}, format="json").json()
    response = manager_client.delete(f"/api/api-keys/{created['id']}/")
    assert response.status_code == 204
    row = ApiKey.objects.get(pk=created["id"])
    assert row.revoked_at is not None
    assert client_with(f"Bearer {created['key']}").get("/api/me/").status_code == 401


def test_a_key_can_list_keys_but_never_mint_or_revoke_them(org, key_client, api_key):
    assert key_client.get("/api/api-keys/").status_code == 200
    error = assert_error_shape(
        key_client.post("/api/api-keys/", {"name": "Backdoor"}, format="json"),
        403, "permission_denied",
    )
    assert "manager" in error["message"]
    assert_error_shape(key_client.delete(f"/api/api-keys/{api_key[0].pk}/"), 403,
                       "permission_denied")
    assert ApiKey.objects.for_org(org).filter(revoked_at__isnull=True).count() == 1


def test_key_actions_are_written_to_the_audit_log(org, manager_client):
    created = manager_client.post("/api/api-keys/", {"name": "CRM sync"}, format="json").json()
    manager_client.delete(f"/api/api-keys/{created['id']}/")
    actions = [
        event["action"] for event in manager_client.get("/api/audit-events/").json()["results"]
    ]
    assert actions[:2] == ["api_key.revoked", "api_key.created"]
