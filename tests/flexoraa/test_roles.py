"""Role permissions: SDRs see their own work, managers their whole tenant, nobody another."""

import pytest
from rest_framework.test import APIClient

from flexoraa.models import Membership, Role
from tests.factories import UserFactory, make_membership
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def session_client(membership):
    client = APIClient()
    client.force_login(membership.user)
    return client


def test_an_sdr_sees_only_their_own_membership(org, manager, sdr):
    make_membership(org, role=Role.SDR)
    rows = session_client(sdr).get("/api/memberships/").json()["results"]
    assert [row["id"] for row in rows] == [sdr.pk]


def test_an_sdr_gets_404_for_a_colleagues_membership(org, manager, sdr):
    response = session_client(sdr).get(f"/api/memberships/{manager.pk}/")
    assert_error_shape(response, 404, "not_found")


def test_an_sdr_cannot_change_their_own_capacity_or_role(sdr):
    client = session_client(sdr)
    for change in ({"capacity": 99}, {"role": "manager"}, {"capacity": 9, "is_available": False}):
        response = client.patch(f"/api/memberships/{sdr.pk}/", change, format="json")
        error = assert_error_shape(response, 403, "permission_denied")
        assert "only their own availability" in error["message"]
    sdr.refresh_from_db()
    assert (sdr.capacity, sdr.role, sdr.is_available) == (5, Role.SDR, True)


def test_an_sdr_sets_their_own_availability_through_the_api(sdr):
    response = session_client(sdr).patch(f"/api/memberships/{sdr.pk}/",
                                         {"is_available": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_available"] is False


def test_the_last_manager_cannot_be_demoted(org, manager, sdr):
    error = assert_error_shape(
        session_client(manager).patch(f"/api/memberships/{manager.pk}/", {"role": "sdr"},
                                      format="json"),
        409, "conflict",
    )
    assert "last manager" in error["message"]
    manager.refresh_from_db()
    assert manager.role == Role.MANAGER and manager.user.is_staff


def test_a_manager_steps_down_once_someone_else_manages(org, manager, sdr):
    client = session_client(manager)
    assert client.patch(f"/api/memberships/{sdr.pk}/", {"role": "manager"},
                        format="json").status_code == 200
    assert client.patch(f"/api/memberships/{manager.pk}/", {"role": "sdr"},
                        format="json").status_code == 200


def test_an_update_that_changes_nothing_writes_no_audit_event(org, manager, sdr):
    from flexoraa.models import AuditEvent

    before = AuditEvent.objects.for_org(org).count()
    response = session_client(manager).patch(f"/api/memberships/{sdr.pk}/", {"capacity": 5},
                                             format="json")
    assert response.status_code == 200
    assert AuditEvent.objects.for_org(org).count() == before


def test_an_sdr_cannot_see_api_keys_or_the_audit_log(sdr):
    client = session_client(sdr)
    assert_error_shape(client.get("/api/api-keys/"), 403, "permission_denied")
    assert_error_shape(client.get("/api/audit-events/"), 403, "permission_denied")


def test_a_manager_sees_and_edits_the_whole_team(org, manager, sdr):
    client = session_client(manager)
    ids = {row["id"] for row in client.get("/api/memberships/").json()["results"]}
    assert ids == {manager.pk, sdr.pk}
    response = client.patch(
        f"/api/memberships/{sdr.pk}/", {"capacity": 8, "is_available": False}, format="json"
    )
    assert response.status_code == 200, response.content
    sdr.refresh_from_db()
    assert (sdr.capacity, sdr.is_available) == (8, False)


def test_a_manager_never_sees_another_tenants_team(org, other_org, manager):
    outsider = make_membership(other_org, role=Role.SDR)
    client = session_client(manager)
    ids = {row["id"] for row in client.get("/api/memberships/").json()["results"]}
    assert outsider.pk not in ids
    assert_error_shape(client.get(f"/api/memberships/{outsider.pk}/"), 404, "not_found")
    assert_error_shape(
        client.patch(f"/api/memberships/{outsider.pk}/", {"capacity": 1}, format="json"),
        404, "not_found",
    )
    outsider.refresh_from_db()
    assert outsider.capacity == 10


def test_a_person_in_no_organization_is_refused(db):
    client = APIClient()
    client.force_login(UserFactory())
    error = assert_error_shape(client.get("/api/memberships/"), 403, "permission_denied")
    assert "not a member" in error["message"]


def test_promoting_an_sdr_to_manager_opens_the_console_to_them(org, manager, sdr):
    session_client(manager).patch(f"/api/memberships/{sdr.pk}/", {"role": "manager"},
                                  format="json")
    assert Membership.objects.get(pk=sdr.pk).user.is_staff is True


def test_a_person_in_two_tenants_works_in_the_one_they_chose(org, other_org):
    user = UserFactory()
    make_membership(org, user=user, role=Role.MANAGER)
    make_membership(other_org, user=user, role=Role.MANAGER)
    client = APIClient()
    client.force_login(user)
    first = client.get("/api/me/").json()["organization"]["slug"]
    client.post("/organization/switch/", {"organization": other_org.pk if first == org.slug
                                          else org.pk})
    second = client.get("/api/me/").json()["organization"]["slug"]
    assert {first, second} == {org.slug, other_org.slug}


def test_switching_to_an_organization_one_is_not_in_changes_nothing(org, other_org, manager):
    client = APIClient()
    client.force_login(manager.user)
    client.post("/organization/switch/", {"organization": other_org.pk})
    assert client.get("/api/me/").json()["organization"]["slug"] == org.slug


def test_demoting_a_manager_closes_the_console_to_them(org, manager):
    owner = make_membership(org, role=Role.OWNER)
    session_client(owner).patch(f"/api/memberships/{manager.pk}/", {"role": "sdr"},
                                format="json")
    manager.user.refresh_from_db()
    assert manager.user.is_staff is False


def test_a_manager_cannot_make_anyone_an_owner_or_demote_an_owner(org, manager, sdr):
    owner = make_membership(org, role=Role.OWNER)
    client = session_client(manager)
    error = assert_error_shape(
        client.patch(f"/api/memberships/{sdr.pk}/", {"role": "owner"}, format="json"),
        403, "permission_denied",
    )
    assert "Only an owner" in error["message"]
    assert_error_shape(
        client.patch(f"/api/memberships/{owner.pk}/", {"role": "sdr"}, format="json"),
        403, "permission_denied",
    )
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER
    assert Membership.objects.get(pk=sdr.pk).role == Role.SDR
    # A manager may still change an owner's availability.
    response = client.patch(f"/api/memberships/{owner.pk}/", {"is_available": False},
                            format="json")
    assert response.status_code == 200


def test_an_owner_grants_the_owner_role(org, manager):
    owner = make_membership(org, role=Role.OWNER)
    response = session_client(owner).patch(f"/api/memberships/{manager.pk}/", {"role": "owner"},
                                           format="json")
    assert response.status_code == 200
    assert Membership.objects.get(pk=manager.pk).role == Role.OWNER
