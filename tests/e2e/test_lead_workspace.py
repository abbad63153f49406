"""One lead workspace in a real browser: a rep opens a lead, reads the lead's WhatsApp message
on the lead page, replies from there (the reply reaches the Meta Graph sandbox and the lead
becomes contacted without a page load), writes a note mentioning a colleague and sets a
follow-up; the colleague, in a second browser, sees the mention in the bell and reaches the
lead from it."""

import tempfile
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from agents.models import Direction, Message, MessageStatus
from flexoraa.models import Notification, NotificationKind, Role
from leads.models import FollowUp, Lead, Note, Status
from tests.agents.conftest import (  # noqa: F401  (fixtures used by name)
    _provider_sandbox_running,
    provider_sandbox_server,
)
from tests.agents.factories import make_channel, make_conversation, make_message
from tests.e2e.test_dashboard import signed_in
from tests.factories import UserFactory, make_membership
from tests.leads.pages_support import lead_of

# Screenshots of each step, for a person to look at (/tmp/shots on Linux).
SHOTS = Path(tempfile.gettempdir()) / "shots"


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"workspace-{name}.png"), full_page=True)


def test_a_rep_works_a_lead_from_its_page_and_the_mentioned_colleague_is_told(
    page, browser, live_server, org, provider_sandbox_server, celery_eager  # noqa: F811
):
    meta = provider_sandbox_server.meta
    rep = make_membership(org, role=Role.SDR, capacity=10,
                          user=UserFactory(username="ravi", first_name="Ravi", last_name="Rao"))
    colleague = make_membership(org, role=Role.SDR, capacity=10,
                                user=UserFactory(username="asha", first_name="Asha"))
    lead = lead_of(rep, name="Priya Sharma")
    channel = make_channel(org, name="Sales line")
    last_in = timezone.now() - timedelta(hours=2)
    conversation = make_conversation(org, channel=channel, lead=lead, last_inbound_at=last_in)
    make_message(org, conversation, body="Can we see a demo this week?", at=last_in)
    meta.inbound(channel.external_id, conversation.contact_id, last_in.timestamp())

    # The rep opens the lead and reads the message on its page.
    signed_in(page, live_server, rep)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Priya Sharma")
    panel = page.get_by_test_id("lead-conversation")
    expect(panel.get_by_test_id("lc-message")).to_have_count(1)
    expect(panel.get_by_test_id("lc-message").first).to_contain_text(
        "Can we see a demo this week?")
    expect(panel.get_by_test_id("lc-window")).to_contain_text("window open")
    expect(page.get_by_test_id("lead-status")).to_have_text("New")
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    shot(page, "1-opened")

    # A reply from the lead page: the one send service, the sandbox gets it, no page load.
    page.evaluate("window.__noFullPageLoad = true")
    panel.get_by_label("Reply", exact=True).fill("Yes! Thursday at 4 pm?")
    with page.expect_response(
            lambda r: r.url.endswith(f"/inbox/lead-conversation/{conversation.pk}/reply/")
    ) as answered:
        panel.get_by_role("button", name="Send", exact=True).click()
    assert answered.value.status == 200
    expect(panel.get_by_test_id("lc-message")).to_have_count(2)
    reply = panel.get_by_test_id("lc-message").last
    expect(reply).to_contain_text("Yes! Thursday at 4 pm?")
    expect(reply.get_by_test_id("lc-message-sender")).to_have_text("Ravi Rao")
    expect(reply.get_by_test_id("lc-message-status")).to_have_text("Sent")
    expect(panel.get_by_test_id("lc-reply-done")).to_have_text("Sent.")
    expect(panel.get_by_label("Reply", exact=True)).to_have_value("")
    # The lead's own cards follow: a first reply makes it contacted.
    expect(page.get_by_test_id("lead-status")).to_have_text("Contacted")
    expect(page.get_by_test_id("sla-state")).to_contain_text("answered")
    (sent,) = meta.sent()
    assert sent["body"]["text"]["body"] == "Yes! Thursday at 4 pm?"
    message = Message.objects.get(conversation=conversation, direction=Direction.OUTBOUND)
    assert message.status == MessageStatus.SENT and message.author_id == rep.pk

    # A note mentioning the colleague.
    page.get_by_label("New note").fill("@asha she wants the demo on Thursday, can you join?")
    page.get_by_role("button", name="Add note").click()
    notes = page.get_by_test_id("notes")
    expect(notes.get_by_test_id("note")).to_have_count(1)
    expect(notes.get_by_test_id("note-body")).to_have_text(
        "@asha she wants the demo on Thursday, can you join?")
    expect(page.get_by_test_id("timeline")).to_contain_text("Wrote a note mentioning Asha.")

    # A follow-up: tomorrow at 10 is offered; the rep says what to do.
    expect(page.get_by_label("Follow up on")).not_to_have_value("")
    page.get_by_label("What to do (optional)").fill("Send the demo invite")
    page.get_by_role("button", name="Set follow-up").click()
    follow_ups = page.get_by_test_id("follow-ups")
    expect(follow_ups.get_by_test_id("follow-up")).to_have_count(1)
    expect(follow_ups.get_by_test_id("follow-up-note")).to_have_text("Send the demo invite")
    expect(page.get_by_test_id("follow-ups-done")).to_have_text("Follow-up set.")
    assert page.evaluate("window.__noFullPageLoad") is True
    shot(page, "2-worked")

    lead.refresh_from_db()
    assert lead.status == Status.CONTACTED
    assert Note.objects.get(lead=lead).author_id == rep.pk
    made = FollowUp.objects.get(lead=lead)
    assert made.owner_id == rep.pk and made.due_at > timezone.now()
    (mention,) = Notification.objects.filter(recipient=colleague, kind=NotificationKind.MENTION)
    assert mention.url.startswith(f"/leads/{lead.pk}/#note-")
    assert not Notification.objects.filter(recipient=rep, kind=NotificationKind.MENTION).exists()

    # The colleague, in a browser of their own, sees the mention and reaches the lead.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = context.new_page()
        signed_in(other, live_server, colleague)
        if other.get_by_test_id("bell").count():
            expect(other.get_by_test_id("bell-count")).to_have_text("1")
            other.get_by_test_id("bell").click()
            expect(other.get_by_text("Ravi Rao mentioned you on Priya Sharma")).to_be_visible()
            shot(other, "3-colleague-notifications")
            other.get_by_text("Ravi Rao mentioned you on Priya Sharma").click()
            expect(other).to_have_url(f"{live_server.url}{mention.url}")
        else:
            # A tree without the notification centre's bell: the row above is what it shows,
            # and its link is where it leads.
            other.goto(f"{live_server.url}{mention.url}")
        expect(other.get_by_test_id("note-body")).to_have_text(
            "@asha she wants the demo on Thursday, can you join?")
        expect(other.get_by_test_id("lc-not-yours")).to_be_visible()
        shot(other, "4-colleague-lead")
    finally:
        context.close()
    assert Lead.objects.get(pk=lead.pk).owner_id == rep.pk

    # Phone-sized: nothing runs off the side, and the reply box is still there to use.
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    expect(page.get_by_label("Reply", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "5-phone")
