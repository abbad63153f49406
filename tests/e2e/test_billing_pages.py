"""The billing pages in a real browser: a manager sees the low-balance banner on the
dashboard, opens Billing, changes the alert level in place (htmx), reads usage as a chart and
the payment history, and every billing page fits a 375-pixel phone."""

from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import expect

from billing.models import AiAction, TokenWallet
from flexoraa.models import Role
from tests.billing.billing_pages_support import credit, make_payment, spend
from tests.billing.razorpay_support import make_package
from tests.e2e.test_dashboard import signed_in
from tests.factories import UserFactory, make_membership


def test_a_manager_follows_the_low_balance_banner_sets_the_alert_level_and_reads_usage(
    page, live_server, org, manager
):
    asha = make_membership(org, role=Role.SDR,
                           user=UserFactory(username="asha", first_name="Asha", last_name="Rao"))
    credit(org, 1_000)
    spend(org, 150, action=AiAction.REPLY, membership=asha)
    spend(org, 50, action=AiAction.CLASSIFICATION)
    payment = make_payment(org, make_package(name="Starter", tokens=10_000, price_paise=99_900))

    signed_in(page, live_server, manager)
    banner = page.get_by_test_id("low-balance-banner")
    expect(banner).to_contain_text("800 left, below your alert level of 1,000.")
    # The breach banner's request, queued beside this one, was answered too (none open).
    expect(page.locator("#breach-banner")).to_have_attribute("hidden", "")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page).to_have_url(f"{live_server.url}/billing/")
    expect(page.get_by_role("link", name="Billing")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("800")
    expect(page.get_by_test_id("low-balance-warning")).to_be_visible()
    expect(page.get_by_test_id("ledger-row")).to_have_count(3)
    expect(page.get_by_test_id("price-reply")).to_have_text("5")

    # A bad level is explained by the field, in place; a good one replaces the warning.
    page.evaluate("window.__noFullPageLoad = true")
    level = page.get_by_label("Alert level")
    level.fill("-3")
    page.get_by_role("button", name="Save alert level").click()
    expect(page.get_by_text("The alert level cannot be below 0.")).to_be_visible()
    expect(page.get_by_label("Alert level")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Alert level").fill("500")
    with page.expect_response(lambda r: r.url.endswith("/billing/alert-level/")) as posted:
        page.get_by_role("button", name="Save alert level").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"
    expect(page.get_by_test_id("threshold-saved")).to_have_text("Alert level set to 500 tokens.")
    expect(page.get_by_test_id("low-balance-warning")).to_have_count(0)
    expect(page.get_by_label("Alert level")).to_have_value("500")
    assert page.evaluate("window.__noFullPageLoad") is True
    assert TokenWallet.objects.for_org(org).get().low_balance_threshold == 500

    # Usage: one bar a day, the day's tokens on today's bar, and the breakdowns.
    page.get_by_role("navigation", name="Billing").get_by_role("link", name="Usage").click()
    expect(page).to_have_url(f"{live_server.url}/billing/usage/")
    chart = page.locator("svg[data-testid=usage-chart]")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.day-bar")).to_have_count(30)
    today = timezone.localdate(timezone=ZoneInfo(org.timezone)).isoformat()
    today_bar = chart.locator(f'rect.day-bar[data-day="{today}"]')
    expect(today_bar).to_have_attribute("data-tokens", "200")
    box = today_bar.bounding_box()
    assert box is not None and box["height"] > 100, box
    expect(page.get_by_test_id("usage-action-row").first).to_contain_text("AI reply")
    expect(page.get_by_test_id("usage-member-row").first).to_contain_text("Asha Rao")
    expect(page.get_by_test_id("usage-member-row").nth(1)).to_contain_text("No SDR")
    page.get_by_label("Show the last").select_option("7")
    expect(page).to_have_url(f"{live_server.url}/billing/usage/?days=7")
    expect(page.locator("svg[data-testid=usage-chart] rect.day-bar")).to_have_count(7)

    page.get_by_role("navigation", name="Billing").get_by_role("link", name="Payments").click()
    expect(page).to_have_url(f"{live_server.url}/billing/payments/")
    rows = page.get_by_test_id("payment-history-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(payment.receipt)
    expect(rows.first).to_contain_text("Paid")
    expect(rows.first).to_contain_text("₹999.00")
    expect(page.get_by_test_id("payments-csv")).to_have_attribute("href", "/billing/payments.csv")

    # Above the alert level now: the dashboard has no banner.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#low-balance-banner")).to_be_hidden()
    expect(page.get_by_test_id("low-balance-banner")).to_have_count(0)

    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/billing/", "/billing/usage/?days=90", "/billing/payments/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide at 375px"
