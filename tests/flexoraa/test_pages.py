import pytest
from django.test import Client

from flexoraa.models import Role
from tests.factories import make_api_key, make_audit_event, make_membership
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_the_login_page_signs_a_person_in(client, manager):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": manager.user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_told_and_not_signed_in(client, manager):
    response = client.post("/login/", {"username": manager.user.username, "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert client.get("/")["Location"].startswith("/login/")


def test_the_dashboard_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


def test_a_manager_dashboard_shows_the_tenants_real_counts(org, other_org, manager):
    make_membership(org, role=Role.SDR, capacity=4)
    make_membership(org, role=Role.SDR, capacity=6, is_available=False)
    make_membership(other_org, role=Role.SDR, capacity=100)
    make_api_key(org)
    make_api_key(other_org)
    page = signed_in(manager).get("/").content.decode()
    assert 'data-testid="count-members">3<' in page
    assert 'data-testid="count-sdrs-available">1 / 2<' in page
    assert "room for 4 open leads" in page
    assert 'data-testid="count-api-keys">1<' in page


def test_the_manager_dashboard_runs_a_fixed_number_of_queries(
    org, manager, django_assert_num_queries
):
    client = signed_in(manager)
    client.get("/")  # warm the session
    for _ in range(5):
        make_membership(org, role=Role.SDR)
        make_audit_event(org)
    # 7 of the core's own, 9 of the sections LeadOS registers (tests/leads/test_home.py).
    with django_assert_num_queries(16):
        assert client.get("/").status_code == 200
    for _ in range(20):
        make_membership(org, role=Role.SDR)
    with django_assert_num_queries(16):
        client.get("/")


def test_an_sdr_dashboard_shows_their_availability_and_no_manager_figures(sdr):
    page = signed_in(sdr).get("/").content.decode()
    assert "Available for new leads" in page
    assert "count-api-keys" not in page
    assert "Manager console" not in page


def test_an_sdr_toggles_availability_with_htmx_and_gets_the_card_back(sdr):
    client = signed_in(sdr)
    response = client.post("/availability/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="availability"')
    assert "Away: no new leads" in fragment
    assert '<div id="sdrs-available" class="card stat" hx-swap-oob="true">' in fragment
    assert 'data-testid="count-sdrs-available">0 / 1<' in fragment
    sdr.refresh_from_db()
    assert sdr.is_available is False


def test_without_javascript_the_toggle_redirects_back_with_a_message(sdr):
    client = signed_in(sdr)
    response = client.post("/availability/", follow=True)
    assert "Your availability is updated." in response.content.decode()


def test_a_person_in_no_organization_is_told_what_to_do(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 403
    assert "Ask your manager" in response.content.decode()


def test_signing_out_takes_a_post_and_ends_the_session(manager):
    client = signed_in(manager)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/")["Location"].startswith("/login/")


def test_healthz_api_docs_and_login_are_served_without_a_session(client):
    assert client.get("/login/").status_code == 200
    assert client.get("/admin/login/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200


def test_pages_show_times_in_the_organizations_time_zone(org, manager):
    from django.test.signals import template_rendered
    from django.utils import timezone

    org.timezone = "America/New_York"
    org.save(update_fields=["timezone"])
    zones = []

    def record(**kwargs):
        zones.append(timezone.get_current_timezone_name())

    template_rendered.connect(record)
    try:
        signed_in(manager).get("/")
    finally:
        template_rendered.disconnect(record)
    assert zones and set(zones) == {"America/New_York"}
    assert timezone.get_current_timezone_name() == "UTC"  # reset after the request


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert client.get(response["Location"]).status_code == 200


def test_opening_the_sign_out_address_asks_to_confirm(manager):
    client = signed_in(manager)
    response = client.get("/logout/")
    assert response.status_code == 200
    assert 'action="/logout/"' in response.content.decode()
    assert client.get("/").status_code == 200  # still signed in until they confirm
