import pytest

from flexoraa.models import ApiKey, Membership, Role
from tests.factories import make_api_key, make_audit_event, make_membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, manager):
    client.force_login(manager.user)
    return client


def test_a_manager_signs_into_the_console_and_sees_only_their_team(console, org, other_org, sdr):
    outsider = make_membership(other_org, role=Role.SDR)
    response = console.get("/admin/flexoraa/membership/")
    assert response.status_code == 200
    page = response.content.decode()
    assert sdr.user.username in page
    assert outsider.user.username not in page


def test_another_tenants_row_cannot_be_opened_in_the_console(console, other_org):
    outsider = make_membership(other_org, role=Role.SDR)
    response = console.get(f"/admin/flexoraa/membership/{outsider.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect
    foreign_key, _ = make_api_key(other_org)
    assert console.get(f"/admin/flexoraa/apikey/{foreign_key.pk}/change/").status_code == 302
    assert console.get("/admin/flexoraa/organization/").content.decode().count(
        other_org.name) == 0


def test_a_manager_adds_an_sdr_in_the_console(console, org):
    response = console.post("/admin/flexoraa/membership/add/", {
        "username": "newrep", "email": "newrep@example.test", "password": "Lead-Hunter-2026",
        "role": "sdr", "capacity": 7, "is_available": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = Membership.objects.get(user__username="newrep")
    assert (membership.organization, membership.role, membership.capacity) == (org, "sdr", 7)
    assert membership.user.check_password("Lead-Hunter-2026")


def test_a_weak_password_is_refused_with_a_reason(console):
    response = console.post("/admin/flexoraa/membership/add/", {
        "username": "weak", "email": "weak@example.test", "password": "123",
        "role": "sdr", "capacity": 7,
    })
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not Membership.objects.filter(user__username="weak").exists()


def test_a_key_created_in_the_console_is_shown_once_in_the_page_only(console, org):
    response = console.post("/admin/flexoraa/apikey/add/", {"name": "Webform"})
    assert response.status_code == 200
    page = response.content.decode()
    api_key = ApiKey.objects.for_org(org).get(name="Webform")
    assert f"flx_{api_key.prefix}_" in page
    assert "no-store" in response["Cache-Control"]
    # Neither a cookie nor the session carries the secret to a later page.
    assert f"flx_{api_key.prefix}_" not in str(response.cookies)
    later = console.get("/admin/flexoraa/apikey/").content.decode()
    assert f"flx_{api_key.prefix}_" not in later
    again = console.get(f"/admin/flexoraa/apikey/{api_key.pk}/change/").content.decode()
    assert f"flx_{api_key.prefix}_" not in again


def test_revoking_keys_in_the_console_counts_only_the_ones_it_revoked(console, org):
    first, _ = make_api_key(org, name="one")
    second, _ = make_api_key(org, name="two")
    console.post("/admin/flexoraa/apikey/", {"action": "revoke_keys",
                                             "_selected_action": [first.pk]})
    response = console.post("/admin/flexoraa/apikey/", {
        "action": "revoke_keys", "_selected_action": [first.pk, second.pk]}, follow=True)
    assert "1 key(s) revoked (1 already revoked)." in response.content.decode()


def test_the_audit_log_is_read_only_in_the_console(console, org):
    event = make_audit_event(org)
    assert console.get("/admin/flexoraa/auditevent/").status_code == 200
    assert console.get("/admin/flexoraa/auditevent/add/").status_code == 403
    response = console.post(f"/admin/flexoraa/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403


def test_an_sdr_cannot_enter_the_console(client, sdr):
    client.force_login(sdr.user)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_beats_schedule_is_for_platform_superusers_only(console):
    assert console.get("/admin/django_celery_beat/periodictask/").status_code == 403


def test_the_console_offers_the_owner_role_only_to_owners(console, org):
    page = console.get("/admin/flexoraa/membership/add/").content.decode()
    assert 'value="manager"' in page and 'value="owner"' not in page
    owner = make_membership(org, role=Role.OWNER)
    page = console.get(f"/admin/flexoraa/membership/{owner.pk}/change/").content.decode()
    assert 'name="role"' not in page  # read-only for a manager
    response = console.post(f"/admin/flexoraa/membership/{owner.pk}/change/",
                            {"role": "sdr", "capacity": 3, "is_available": "on"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.role, owner.capacity) == (Role.OWNER, 3)


def test_the_console_tells_a_manager_why_the_last_manager_cannot_step_down(console, manager):
    response = console.post(f"/admin/flexoraa/membership/{manager.pk}/change/",
                            {"role": "sdr", "capacity": 50, "is_available": "on"}, follow=True)
    assert "last manager" in response.content.decode()
    manager.refresh_from_db()
    assert manager.role == Role.MANAGER


def test_capacity_above_the_limit_is_refused_in_the_console(console, sdr):
    response = console.post(f"/admin/flexoraa/membership/{sdr.pk}/change/",
                            {"role": "sdr", "capacity": 99999999, "is_available": "on"})
    assert response.status_code == 200
    assert "10000" in response.content.decode() or "10,000" in response.content.decode()
    sdr.refresh_from_db()
    assert sdr.capacity == 5


def test_a_manager_verifies_the_audit_chain_with_one_button(console, org, other_org):
    make_audit_event(org)
    foreign = make_audit_event(other_org)
    page = console.get("/admin/flexoraa/auditevent/").content.decode()
    assert "Verify the audit chain" in page
    response = console.post("/admin/flexoraa/auditevent/verify/", follow=True)
    body = response.content.decode()
    assert f"{org.name}: the audit chain verifies." in body
    assert other_org.name not in body
    assert foreign.hash not in body


def test_the_audit_log_lists_newest_first_with_readable_actors(console, org, manager):
    make_audit_event(org, action="first.event")
    make_audit_event(org, action="second.event")
    page = console.get("/admin/flexoraa/auditevent/").content.decode()
    assert page.index("second.event") < page.index("first.event")
    assert "system" in page
