"""The home pages in a real browser: the manager's pipeline with its 30-day trend chart, and
bulk actions on ticked leads in the team queue."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Lead, SlaBreach, Status
from tests.e2e.test_dashboard import signed_in
from tests.leads.pages_support import HOT, WARM, lead_of


def test_a_manager_opens_the_home_and_sees_the_trend_chart_with_its_legend(
    page, live_server, org, manager, sdr, tmp_path
):
    lead_of(sdr, name="Hot Hari", **HOT)
    lead_of(sdr, name="Warm Wani", **WARM)
    cold = lead_of(sdr, name="Cold Carla")
    SlaBreach.objects.create(organization=org, lead=cold, owner=sdr, tier=cold.tier,
                             due_at=timezone.now(), breached_at=timezone.now())

    signed_in(page, live_server, manager)

    chart = page.get_by_test_id("trend-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] > 400 and box["height"] > 100, box
    expect(page.get_by_role("img", name=re.compile(r"^Leads created per day by tier"))
           ).to_be_visible()
    expect(chart.locator("rect[data-series]")).to_have_count(3)
    expect(chart.get_by_test_id("trend-breaches")).to_be_attached()
    legend = page.get_by_test_id("trend-legend")
    expect(legend).to_be_visible()
    for entry in ("HOT leads (1)", "WARM leads (1)", "COLD leads (1)", "SLA breaches (1)"):
        expect(legend).to_contain_text(entry)

    page.get_by_text("The numbers as a table").click()
    expect(page.get_by_test_id("trend-per-day")).to_be_visible()
    expect(page.get_by_test_id("trend-day")).to_have_count(30)

    expect(page.get_by_test_id("open-leads")).to_have_text("3")
    expect(page.get_by_test_id("count-sdrs-available")).to_have_text("1 / 1")
    expect(page.get_by_role("heading", name="Background jobs")).to_have_count(0)

    shot = tmp_path / "manager-home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_manager_ticks_leads_in_the_team_queue_and_moves_them_to_lost(
    page, live_server, org, manager, sdr
):
    leads = [lead_of(sdr, name=name, **HOT) for name in ("Asha", "Bala", "Chitra")]

    signed_in(page, live_server, manager)
    page.goto(f"{live_server.url}/leads/team/")
    page.get_by_label("Select every lead on this page").check()
    page.get_by_label("Select Chitra").uncheck()
    page.get_by_label("Change their status to").select_option("lost")
    page.get_by_label("Lost reason (for Lost)").select_option(label="No budget")
    page.get_by_role("button", name="Change status").click()

    expect(page).to_have_url(f"{live_server.url}/leads/team/")
    expect(page.locator(".messages")).to_have_text("Moved 2 leads to Lost.")
    expect(page.get_by_test_id("lead-row")).to_have_count(1)
    expect(page.get_by_test_id("lead-row").first).to_contain_text("Chitra")
    assert [Lead.objects.get(pk=lead.pk).status for lead in leads] == [
        Status.LOST, Status.LOST, Status.NEW]


def test_the_home_pages_and_operations_fit_a_375_pixel_phone(page, live_server, org, manager,
                                                              sdr):
    for index in range(4):
        lead_of(sdr, name=f"Lead with a rather long name number {index}", **HOT)
    page.set_viewport_size({"width": 375, "height": 800})

    for member, paths in ((manager, ("/", "/operations/")), (sdr, ("/",))):
        page.context.clear_cookies()
        signed_in(page, live_server, member)
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} is {width}px wide at 375px for {member.role}"
    expect(page.get_by_test_id("my-queue")).to_be_visible()
