"""LeadOS in a real browser: an SDR filters their leads with htmx, opens one, reads its score
breakdown and marks the first response; a manager reassigns a lead and acknowledges an SLA
breach from the team queue."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from flexoraa.models import Role
from leads import services
from leads.models import Lead, SlaBreach, Status
from tests.e2e.test_dashboard import signed_in
from tests.factories import UserFactory, make_membership
from tests.leads.pages_support import HOT, WARM, lead_of


def htmx_get(url_part):
    return lambda r: url_part in r.url and r.request.headers.get("hx-request") == "true"


def bar_ratio(factor) -> float:
    """How much of its track a factor's bar fills, as drawn."""
    track = factor.locator(".bar").bounding_box()
    fill = factor.locator(".bar > span").bounding_box()
    return fill["width"] / track["width"]


def test_an_sdr_filters_their_leads_opens_one_and_marks_the_first_response(
    page, live_server, org, sdr
):
    hot = lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Warm Wani", **WARM)
    lead_of(sdr, name="Cold Carla")

    signed_in(page, live_server, sdr)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My leads").click()
    expect(page).to_have_url(f"{live_server.url}/leads/")
    expect(page.get_by_role("link", name="My leads", exact=True).first).to_have_attribute(
        "aria-current", "page"
    )
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Hot Hari")
    expect(rows.first).to_contain_text(re.compile(r"due in \d min"))
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"

    # A full page load would wipe this marker; htmx swaps keep it.
    page.evaluate("window.__noFullPageLoad = true")
    with page.expect_response(htmx_get("/leads/?")) as answered:
        page.get_by_label("Tier").select_option("hot")
    assert answered.value.status == 200
    expect(page).to_have_url(f"{live_server.url}/leads/?tier=hot")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Hot Hari")
    expect(page.get_by_test_id("lead-count")).to_have_text("1 lead matches these filters")

    # Typing searches after a pause; the filters combine.
    page.get_by_label("Tier").select_option("")
    expect(rows).to_have_count(3)
    page.get_by_label("Search").press_sequentially("carla", delay=30)
    expect(page).to_have_url(f"{live_server.url}/leads/?q=carla")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Cold Carla")
    assert page.evaluate("window.__noFullPageLoad") is True

    # Back restores the earlier list.
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/leads/")
    expect(rows).to_have_count(3)

    rows.filter(has_text="Hot Hari").get_by_role("link", name="Hot Hari").click()
    expect(page).to_have_url(f"{live_server.url}/leads/{hot.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hot Hari")
    page.wait_for_load_state("load")  # the stylesheet draws the bars measured below
    factors = page.get_by_test_id("score-breakdown").locator("li")
    expect(factors).to_have_count(5)
    authority = page.get_by_test_id("factor-authority")
    expect(authority).to_contain_text("20 / 20")
    expect(authority).to_contain_text("They make the buying decision.")
    assert bar_ratio(authority) > 0.98
    assert 0.55 < bar_ratio(page.get_by_test_id("factor-intent")) < 0.65  # 12 of 20

    page.evaluate("window.__noFullPageLoad = true")
    with page.expect_response(lambda r: r.url.endswith("/first-response/")) as posted:
        page.get_by_role("button", name="Mark first response sent").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"
    expect(page.get_by_test_id("sla-state")).to_have_text("answered")
    expect(page.get_by_text("First response recorded.")).to_be_visible()
    expect(page.get_by_role("button", name="Mark first response sent")).to_have_count(0)
    expect(page.get_by_test_id("timeline")).to_contain_text(
        "First response sent, within the target."
    )
    expect(page.locator("#sla-card")).to_have_count(1)
    assert page.evaluate("window.__noFullPageLoad") is True
    hot.refresh_from_db()
    assert hot.first_response_at is not None

    # Closing the lead: the status card and the summary change together.
    page.get_by_label("New status").select_option("won")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_test_id("lead-status")).to_have_text("Won")
    expect(page.get_by_test_id("status-now")).to_have_text("Won")
    expect(page.get_by_label("New status")).to_have_count(0)
    hot.refresh_from_db()
    assert hot.status == Status.WON


def test_an_sdr_fixes_a_refused_budget_and_the_lead_is_rescored(page, live_server, org, sdr):
    lead = lead_of(sdr, name="Cold Carla")

    signed_in(page, live_server, sdr)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_test_id("lead-tier")).to_have_text("COLD")
    page.get_by_text("Edit qualification").click()
    page.get_by_label("Need").fill("A CRM for 20 reps")
    page.get_by_label("Budget amount").fill("200000")
    page.get_by_label("Currency").fill("R$")
    page.get_by_label("Authority").select_option("decision_maker")
    page.get_by_label("Buying timeline").select_option("immediate")
    page.get_by_role("button", name="Save and rescore").click()

    currency = page.get_by_label("Currency")
    expect(currency).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_q-budget_currency_error")).to_have_text(
        "Give a three-letter ISO currency code, like INR or USD."
    )
    expect(page.get_by_label("Need")).to_have_value("A CRM for 20 reps")  # nothing typed is lost

    currency.fill("INR")
    page.get_by_role("button", name="Save and rescore").click()
    expect(page.get_by_text("Qualification saved; the lead is rescored.")).to_be_visible()
    expect(page.get_by_test_id("lead-tier")).to_have_text("HOT")
    expect(page.get_by_test_id("factor-budget")).to_contain_text("20 / 20")
    lead.refresh_from_db()
    assert lead.tier == "hot"


def test_a_manager_reassigns_a_lead_and_acknowledges_a_breach(
    page, live_server, org, manager, sdr
):
    ravi = make_membership(org, role=Role.SDR, user=UserFactory(username="ravi"))
    hot = lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Late Lata", **WARM)
    services.sla_breaches_record(now=timezone.now() + timedelta(hours=2))

    signed_in(page, live_server, manager)
    banner = page.get_by_test_id("breach-banner")
    expect(banner).to_contain_text("2 SLA breaches waiting to be acknowledged.")

    page.goto(f"{live_server.url}/leads/{hot.pk}/")
    page.get_by_label("Hand this lead to").select_option(str(ravi.pk))
    page.get_by_label("Note (optional)").fill("Speaks Tamil")
    with page.expect_response(lambda r: r.url.endswith("/reassign/")) as posted:
        page.get_by_role("button", name="Reassign").click()
    assert posted.value.status == 200
    expect(page.get_by_test_id("owner-now")).to_have_text("ravi")
    expect(page.get_by_test_id("lead-owner")).to_have_text("ravi")
    expect(page.get_by_test_id("assignments").locator("li").first).to_contain_text(
        "Speaks Tamil"
    )
    expect(page.get_by_test_id("timeline")).to_contain_text("reassigned by a manager")
    hot.refresh_from_db()
    assert hot.owner_id == ravi.pk

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    banner.get_by_role("link", name="Open the team queue").click()
    expect(page).to_have_url(f"{live_server.url}/leads/team/#breaches")
    breaches = page.get_by_test_id("breach-row")
    expect(breaches).to_have_count(2)
    expect(page.get_by_test_id("breach-count")).to_have_text("2")

    page.evaluate("window.__noFullPageLoad = true")
    late_row = breaches.filter(has_text="Late Lata")
    with page.expect_response(lambda r: r.url.endswith("/acknowledge/")) as posted:
        late_row.get_by_role("button", name="Acknowledge").click()
    assert posted.value.status == 200
    expect(breaches).to_have_count(1)
    expect(breaches.first).to_contain_text("Hot Hari")
    expect(page.get_by_test_id("breach-count")).to_have_text("1")
    assert page.evaluate("window.__noFullPageLoad") is True
    acknowledged = SlaBreach.objects.get(lead__name="Late Lata")
    assert acknowledged.acknowledged_by_id == manager.pk

    breaches.first.get_by_role("button", name="Acknowledge").click()
    expect(breaches).to_have_count(0)
    expect(page.get_by_text("No missed first-response target waits for you.")).to_be_visible()

    # The team queue filters by owner the same way.
    page.get_by_label("Owner").select_option(str(ravi.pk))
    expect(page).to_have_url(re.compile(rf"/leads/team/\?owner={ravi.pk}$"))
    expect(page.get_by_test_id("lead-row")).to_have_count(1)
    expect(page.get_by_test_id("lead-row").first).to_contain_text("Hot Hari")


def test_the_lead_pages_fit_a_375_pixel_phone(page, live_server, org, manager, sdr):
    lead = lead_of(sdr, name="Hot Hari", email="hari.with.a.long.address@example.com", **HOT)
    for _ in range(3):
        lead_of(sdr, **WARM)
    services.sla_breaches_record(now=timezone.now() + timedelta(hours=2))
    Lead.objects.filter(pk=lead.pk).update(need="A CRM for 20 reps " * 10)
    page.set_viewport_size({"width": 375, "height": 800})

    signed_in(page, live_server, manager)
    for path in ("/leads/", "/leads/team/", f"/leads/{lead.pk}/", "/leads/sla/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide at 375px"
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_role("button", name="Mark first response sent")).to_be_visible()
    expect(page.get_by_role("button", name="Reassign")).to_be_visible()
