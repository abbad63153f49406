"""The notification centre in a real browser: a rep is signed in when a HOT lead is taken in
for them; the bell's next poll shows it and so does the tab's title; the rep opens it, lands
on the lead, and the count drops. The bell fits a phone's top bar."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flexoraa.models import Notification
from leads.models import Source
from tests.e2e.test_dashboard import signed_in
from tests.leads.factories import make_lead
from tests.leads.pages_support import HOT


@pytest.fixture
def shot(page, tmp_path):
    """Screenshots into FLEXORAA_SHOTS_DIR when it is set (to look at them), else tmp_path."""
    folder = Path(os.environ.get("FLEXORAA_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        path = folder / f"notifications-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000

    return take


def test_a_rep_sees_a_new_hot_lead_at_the_bell_and_in_the_tab_title_and_opens_it(
    page, live_server, org, sdr, manager, shot
):
    # The page's timers run on the test's clock, so the bell's 25-second poll comes at once.
    page.clock.install()
    signed_in(page, live_server, sdr)
    count = page.get_by_test_id("bell").get_by_test_id("bell-count")
    expect(count).to_have_attribute("data-unread", "0")
    expect(count).to_be_hidden()
    expect(page).to_have_title("Dashboard · Flexoraa")

    lead = make_lead(org, name="Priya Sharma", source=Source.WHATSAPP, **HOT)
    assert Notification.objects.filter(recipient=sdr).count() == 1

    page.clock.run_for(26_000)
    expect(count).to_have_text("1")
    expect(count).to_be_visible()
    expect(page).to_have_title("(1) Dashboard · Flexoraa")
    shot("bell")

    page.get_by_test_id("bell").click()
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    expect(page).to_have_title("(1) Notifications · Flexoraa")
    item = page.get_by_test_id("notification")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("HOT lead: Priya Sharma (WhatsApp) — budget ₹2 L")
    expect(item).to_contain_text("First response due within")
    expect(item.get_by_test_id("unread-mark")).to_be_visible()
    shot("page")

    item.get_by_role("link", name=re.compile("^HOT lead: Priya Sharma")).click()
    expect(page).to_have_url(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Priya Sharma")
    expect(count).to_have_attribute("data-unread", "0")
    expect(page).not_to_have_title(re.compile(r"^\("))

    page.get_by_test_id("bell").click()
    expect(page.get_by_test_id("unread-mark")).to_have_count(0)
    expect(page.get_by_test_id("unread-summary")).to_have_text("Nothing unread.")


def test_mark_all_read_clears_the_bell_and_the_title(page, live_server, org, sdr, manager):
    for name in ("Asha Verma", "Bala Iyer"):
        make_lead(org, name=name, **HOT)
    signed_in(page, live_server, sdr)
    count = page.get_by_test_id("bell").get_by_test_id("bell-count")
    expect(count).to_have_text("2")
    expect(page).to_have_title("(2) Dashboard · Flexoraa")

    page.get_by_test_id("bell").click()
    expect(page.get_by_test_id("unread-mark")).to_have_count(2)
    page.get_by_test_id("mark-all-read").click()
    expect(page.locator(".messages")).to_have_text("All your notifications are read.")
    expect(page.get_by_test_id("unread-mark")).to_have_count(0)
    expect(count).to_have_attribute("data-unread", "0")
    expect(page).to_have_title("Notifications · Flexoraa")


def test_the_bell_and_the_notifications_page_fit_a_375_pixel_phone(
    page, live_server, org, sdr, manager, shot
):
    make_lead(org, name="A lead with a rather long name to wrap on a phone", **HOT)
    page.set_viewport_size({"width": 375, "height": 800})
    signed_in(page, live_server, sdr)
    expect(page.get_by_test_id("bell").get_by_test_id("bell-count")).to_have_text("1")
    for path in ("/", "/notifications/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_test_id("bell")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide at 375px"
    shot("phone")
