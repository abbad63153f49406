"""The dashboard in a real browser: signing in and out, the SDR's availability toggle (htmx)
and the manager's team and console."""

import re

import pytest
from playwright.sync_api import expect

from flexoraa.models import Role
from tests.factories import UserFactory, make_membership
from tests.support import PASSWORD


def sign_in(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page, live_server, membership):
    sign_in(page, live_server, membership.user.username)
    expect(page).to_have_url(f"{live_server.url}/")


@pytest.fixture
def outsider(other_org):
    """A member of another organization, with a username no page of ``org`` may show."""
    return make_membership(other_org, role=Role.SDR, user=UserFactory(username="outsider-olga"))


def test_a_wrong_password_shows_the_error_and_stays_on_the_login_page(page, live_server, sdr):
    sign_in(page, live_server, sdr.user.username, password="not-the-password")

    expect(page.get_by_role("alert")).to_have_text(
        "Your username and password didn't match. Please try again."
    )
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator("#id_username")).to_have_value(sdr.user.username)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_sdr_signs_in_sees_real_counts_and_toggles_availability_in_place(
    page, live_server, org, manager, sdr, outsider
):
    make_membership(org, role=Role.SDR, capacity=7, is_available=False)

    signed_in(page, live_server, sdr)

    expect(page.get_by_role("heading", level=1)).to_have_text(org.name)
    expect(page.get_by_test_id("count-members")).to_have_text("3")
    expect(page.get_by_test_id("count-sdrs-available")).to_have_text("1 / 2")
    expect(page.get_by_test_id("count-api-keys")).to_have_count(0)
    expect(page.get_by_test_id("count-audit-events")).to_have_count(0)
    expect(page.get_by_role("link", name="Manager console")).to_have_count(0)

    state = page.get_by_test_id("availability-state")
    expect(state).to_have_text("Available for new leads")
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"

    # A full page load would wipe this marker; an htmx swap keeps it.
    page.evaluate("window.__noFullPageLoad = true")
    with page.expect_response(
        lambda r: r.url.endswith("/availability/") and r.request.method == "POST"
    ) as posted:
        page.locator("#availability").get_by_role("button", name="Go away").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"

    expect(state).to_have_text("Away: no new leads")
    expect(page.locator("#availability").get_by_role("button")).to_have_text("Become available")
    # The team figure beside the card follows in the same response (out-of-band swap).
    expect(page.get_by_test_id("count-sdrs-available")).to_have_text("0 / 2")
    expect(page.locator("#sdrs-available")).to_have_count(1)
    expect(page.locator("#availability")).to_have_count(1)
    assert page.evaluate("window.__noFullPageLoad") is True
    assert page.url == f"{live_server.url}/"
    expect(page.get_by_text("Your availability is updated.")).to_have_count(0)

    sdr.refresh_from_db()
    assert sdr.is_available is False

    page.reload()
    expect(page.get_by_test_id("availability-state")).to_have_text("Away: no new leads")
    expect(page.get_by_test_id("count-sdrs-available")).to_have_text("0 / 2")
    assert page.evaluate("window.__noFullPageLoad") is None


def test_manager_sees_their_team_and_only_their_organization_in_the_console(
    page, live_server, org, manager, sdr, outsider
):
    away = make_membership(org, role=Role.SDR, is_available=False)

    signed_in(page, live_server, manager)

    expect(page.get_by_test_id("count-members")).to_have_text("3")
    expect(page.get_by_test_id("count-api-keys")).to_have_text("0")
    expect(page.get_by_test_id("count-audit-events")).to_have_text(re.compile(r"^\d+$"))
    team = page.locator("section.card",
                        has=page.get_by_role("heading", name="Team load", exact=True))
    rows = team.get_by_test_id("load-row")
    expect(rows).to_have_count(3)
    for member in (manager, sdr, away):
        expect(rows.filter(has_text=member.user.username)).to_have_count(1)
    expect(rows.filter(has_text=away.user.username)).to_contain_text("away")
    expect(team).not_to_contain_text(outsider.user.username)

    page.get_by_role("link", name="Manager console").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Memberships").first.click()
    expect(page).to_have_url(f"{live_server.url}/admin/flexoraa/membership/")

    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(3)
    for member in (manager, sdr, away):
        expect(results.filter(has_text=member.user.username)).to_have_count(1)
    expect(page.locator("#content")).not_to_contain_text(outsider.user.username)


def test_signing_out_returns_to_the_login_page_and_the_dashboard_then_needs_a_sign_in(
    page, live_server, sdr
):
    signed_in(page, live_server, sdr)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
