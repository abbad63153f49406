"""The inbox in a real browser: a manager opening a rep's thread leaves the rep's unread count
as it was (two browser contexts side by side); the keyboard moves through the inbox (j / k,
r, e, ?); a blank reply is told inside the thread; a canned reply goes in with /shortcut."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.services.canned import canned_reply_create
from flexoraa.models import Role
from tests.agents.factories import make_channel, make_conversation, make_message
from tests.e2e.test_dashboard import signed_in
from tests.factories import SETUP_ACTOR, UserFactory, make_membership
from tests.leads.pages_support import lead_of

BLANK = "The message is empty: write something before you send it."
SHOTS = Path("/tmp/shots")  # noqa: S108 (the fixed place people look for these screenshots)


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"inbox-{name}.png"), full_page=True)


def conversation_of(owner, name, *, hours_ago, messages=("Hello?",), channel=None):
    org = owner.organization
    at = timezone.now() - timedelta(hours=hours_ago)
    conversation = make_conversation(org, channel=channel or make_channel(org),
                                     lead=lead_of(owner, name=name), last_inbound_at=at)
    for n, body in enumerate(messages):
        make_message(org, conversation, body=body, at=at - timedelta(minutes=len(messages) - n),
                     predicted_intent="high" if n == len(messages) - 1 else "")
    return conversation


@pytest.fixture
def rep(org):
    return make_membership(org, role=Role.SDR, capacity=10,
                           user=UserFactory(username="rita-rep", first_name="Rita",
                                            last_name="Rao"))


def test_a_managers_reading_leaves_the_reps_unread_count_as_it_was(
    browser, page, live_server, org, rep, manager
):
    conversation = conversation_of(rep, "Asha Verma", hours_ago=1,
                                   messages=("Hi there", "Is the demo on?"))
    signed_in(page, live_server, rep)
    page.goto(f"{live_server.url}/inbox/")
    rep_row = page.get_by_test_id("conversation-row").filter(has_text="Asha Verma")
    expect(rep_row.get_by_test_id("unread-badge")).to_contain_text("2")

    boss_context = browser.new_context(viewport={"width": 1280, "height": 800})
    boss = boss_context.new_page()
    try:
        signed_in(boss, live_server, manager)
        boss.goto(f"{live_server.url}/inbox/")
        boss_row = boss.get_by_test_id("conversation-row").filter(has_text="Asha Verma")
        expect(boss_row.get_by_test_id("unread-badge")).to_contain_text("2")
        expect(boss_row.get_by_test_id("assignee")).to_have_text("Assigned to Rita Rao")
        shot(boss, "manager-list")
        boss_row.get_by_role("link", name="Asha Verma").click()
        expect(boss.get_by_role("heading", level=1)).to_have_text("Asha Verma")
        expect(boss.get_by_test_id("thread").get_by_test_id("message")).to_have_count(2)
        boss.goto(f"{live_server.url}/inbox/")
        expect(boss_row.get_by_test_id("unread-badge")).to_have_count(0)
    finally:
        boss_context.close()

    page.reload()
    expect(rep_row.get_by_test_id("unread-badge")).to_contain_text("2")
    shot(page, "rep-list-after-manager-read")
    rep_row.get_by_role("link", name="Asha Verma").click()
    expect(page).to_have_url(re.compile(rf"/inbox/{conversation.pk}/"))
    page.goto(f"{live_server.url}/inbox/")
    expect(rep_row.get_by_test_id("unread-badge")).to_have_count(0)


def test_the_keyboard_moves_through_the_inbox(page, live_server, org, rep):
    channel = make_channel(org, name="Sales line")
    first = conversation_of(rep, "Farah First", hours_ago=1, channel=channel)
    second = conversation_of(rep, "Sami Second", hours_ago=2, channel=channel)
    third = conversation_of(rep, "Tanu Third", hours_ago=3, channel=channel)
    signed_in(page, live_server, rep)
    page.goto(f"{live_server.url}/inbox/?sort=recent")
    rows = page.get_by_test_id("conversation-row")
    expect(rows).to_have_count(3)

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(rows.nth(0)).not_to_have_class(re.compile(r"\bcurrent\b"))
    shot(page, "list-cursor")
    # "?" opens the list of shortcuts; Escape closes it.
    page.keyboard.press("?")
    help_list = page.get_by_test_id("shortcut-help")
    expect(help_list).to_be_visible()
    expect(help_list).to_contain_text("Next conversation")
    expect(help_list).to_contain_text("Done: mark the conversation read")
    shot(page, "shortcut-help")
    page.keyboard.press("Escape")
    expect(help_list).to_be_hidden()

    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/inbox/{second.pk}/?view=mine&sort=recent")
    page.keyboard.press("j")
    expect(page).to_have_url(f"{live_server.url}/inbox/{third.pk}/?view=mine&sort=recent")
    page.keyboard.press("k")
    expect(page).to_have_url(f"{live_server.url}/inbox/{second.pk}/?view=mine&sort=recent")

    # r puts the cursor in the reply box, where j and k are just letters.
    page.keyboard.press("r")
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    page.keyboard.type("jk")
    expect(box).to_have_value("jk")
    expect(page).to_have_url(f"{live_server.url}/inbox/{second.pk}/?view=mine&sort=recent")
    box.fill("")
    page.get_by_role("heading", level=1).click()  # out of the field again

    # e: done, on to the next one of the list.
    page.keyboard.press("k")
    expect(page).to_have_url(f"{live_server.url}/inbox/{first.pk}/?view=mine&sort=recent")
    page.keyboard.press("e")
    expect(page).to_have_url(f"{live_server.url}/inbox/{second.pk}/?view=mine&sort=recent")
    shot(page, "thread-after-done")


def test_a_blank_reply_is_told_inside_the_thread(page, live_server, org, rep):
    conversation = conversation_of(rep, "Bina Blank", hours_ago=1,
                                   messages=("Can you call me?",))
    signed_in(page, live_server, rep)
    page.goto(f"{live_server.url}/inbox/{conversation.pk}/")
    page.evaluate("window.__noFullPageLoad = true")

    with page.expect_response(lambda r: r.url.endswith("/reply/")) as answered:
        page.get_by_role("button", name="Send", exact=True).click()
    assert answered.value.status == 400

    box = page.locator("#reply-box")
    expect(box.get_by_role("alert")).to_have_text(BLANK)
    expect(page.get_by_label("Message", exact=True)).to_have_attribute("aria-invalid", "true")
    # The thread is still all there around it: nothing replaced the page.
    expect(page.get_by_role("heading", level=1)).to_have_text("Bina Blank")
    expect(page.get_by_test_id("thread").get_by_test_id("message")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert page.evaluate("window.__noFullPageLoad") is True
    shot(page, "blank-reply")

    # Spaces alone are blank too, and the box can still send afterwards.
    page.get_by_label("Message", exact=True).fill("   ")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(box.get_by_role("alert")).to_have_text(BLANK)


def test_a_canned_reply_goes_in_with_slash_and_its_shortcut(
    page, live_server, org, other_org, rep
):
    canned_reply_create(org=org, title="Pricing", shortcut="pricing",
                        body="Hi {first_name}, our plans start at 999 a month.",
                        actor=SETUP_ACTOR)
    canned_reply_create(org=org, title="Book a demo", shortcut="demo",
                        body="Shall we book a demo this week, {first_name}?", actor=SETUP_ACTOR)
    canned_reply_create(org=other_org, title="Secret", shortcut="secret",
                        body="Another tenant's words", actor=SETUP_ACTOR)
    conversation = conversation_of(rep, "Asha Verma", hours_ago=1,
                                   messages=("How much is it?",))
    signed_in(page, live_server, rep)
    page.goto(f"{live_server.url}/inbox/{conversation.pk}/")
    box = page.get_by_label("Message", exact=True)
    suggestions = page.get_by_test_id("canned-suggestions")

    box.click()
    box.press_sequentially("Thanks! /pri")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option").first).to_contain_text("/pricing")
    shot(page, "canned-suggestions")
    box.press("Enter")
    expect(box).to_have_value("Thanks! Hi Asha, our plans start at 999 a month.")
    expect(suggestions).to_be_hidden()

    # Another tenant's shortcut is never offered.
    box.fill("")
    box.press_sequentially("/sec")
    expect(suggestions).to_be_hidden()
    box.fill("")
    box.press_sequentially("/")
    expect(suggestions.get_by_role("option")).to_have_count(2)
    box.press("ArrowDown")
    box.press("Tab")
    expect(box).to_have_value("Hi Asha, our plans start at 999 a month.")

    # The select list does the same at the caret.
    box.fill("")
    page.get_by_label("Canned reply").select_option(label="/demo · Book a demo")
    page.get_by_role("button", name="Insert").click()
    expect(box).to_have_value("Shall we book a demo this week, Asha?")
    expect(page).to_have_url(f"{live_server.url}/inbox/{conversation.pk}/")

    # Phone-sized: the box, its list and the thread's links stay on the screen.
    page.set_viewport_size({"width": 375, "height": 740})
    box.fill("")
    box.press_sequentially("/")
    expect(suggestions).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "thread-phone")
    page.goto(f"{live_server.url}/inbox/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "list-phone")
