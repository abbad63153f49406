"""The SDR inbox in a real browser: an SDR opens the inbox, opens a conversation whose
WhatsApp window is open, types a reply and sends it; the send goes to the Meta Graph sandbox
and the reply shows in the thread without a page load. The thread stays usable at 375 px."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from agents.models import Direction, Message, MessageStatus
from tests.agents.conftest import (  # noqa: F401  (fixtures used by name)
    _provider_sandbox_running,
    provider_sandbox_server,
)
from tests.agents.factories import make_channel, make_conversation, make_message
from tests.agents.inbox_support import unread_of
from tests.e2e.test_dashboard import signed_in
from tests.leads.pages_support import lead_of


def test_an_sdr_replies_in_an_open_window_and_sees_the_reply_in_the_thread(
    page, live_server, org, sdr, provider_sandbox_server, celery_eager  # noqa: F811
):
    meta = provider_sandbox_server.meta
    channel = make_channel(org, name="Sales line")
    lead = lead_of(sdr, name="Asha Verma")
    last_in = timezone.now() - timedelta(hours=2)
    conversation = make_conversation(org, channel=channel, lead=lead, last_inbound_at=last_in)
    make_message(org, conversation, body="Is the demo still on today?", at=last_in,
                 predicted_intent="high")
    meta.inbound(channel.external_id, conversation.contact_id, last_in.timestamp())

    signed_in(page, live_server, sdr)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    expect(page).to_have_url(f"{live_server.url}/inbox/")
    rows = page.get_by_test_id("conversation-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Asha Verma")
    expect(rows.first).to_contain_text("Is the demo still on today?")
    expect(rows.first.get_by_test_id("unread-badge")).to_contain_text("1")
    expect(rows.first.get_by_test_id("window-badge")).to_have_text(
        re.compile(r"window open, 2[12] h \d+ m left"))
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"

    rows.first.get_by_role("link", name="Asha Verma").click()
    # The thread carries the list it was opened from (?view=…), for j / k and the way back.
    expect(page).to_have_url(re.compile(rf"{live_server.url}/inbox/{conversation.pk}/(\?.*)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Asha Verma")
    thread = page.get_by_test_id("thread")
    expect(thread.get_by_test_id("message")).to_have_count(1)
    expect(thread.get_by_test_id("message").first).to_contain_text("From the lead")

    # A full page load would wipe this marker; the htmx reply keeps it.
    page.evaluate("window.__noFullPageLoad = true")
    box = page.get_by_label("Message", exact=True)
    box.fill("Yes! See you at 4 pm.")
    with page.expect_response(lambda r: r.url.endswith(f"/inbox/{conversation.pk}/reply/")
                              ) as answered:
        page.get_by_role("button", name="Send", exact=True).click()
    assert answered.value.status == 200

    expect(thread.get_by_test_id("message")).to_have_count(2)
    reply = thread.get_by_test_id("message").last
    expect(reply).to_contain_text("Yes! See you at 4 pm.")
    expect(reply).to_contain_text("To the lead")
    expect(reply.get_by_test_id("message-sender")).to_have_text(sdr.user.username)
    expect(reply.get_by_test_id("message-status")).to_have_text("Sent")
    expect(page.get_by_test_id("reply-done")).to_have_text("Sent.")
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    assert page.evaluate("window.__noFullPageLoad") is True

    (sent,) = meta.sent()
    assert sent["kind"] == "whatsapp" and sent["channel_id"] == channel.external_id
    assert sent["body"]["text"]["body"] == "Yes! See you at 4 pm."
    message = Message.objects.get(conversation=conversation, direction=Direction.OUTBOUND)
    assert message.status == MessageStatus.SENT and message.provider_message_id
    assert message.author_id == sdr.pk
    assert unread_of(conversation, sdr) == 0

    # Phone-sized: nothing runs off the side, and the reply box is still there to use.
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    expect(page.get_by_label("Message", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_refused_reply_shows_why_and_a_closed_window_offers_a_template_with_a_preview(
    page, live_server, org, sdr, provider_sandbox_server, celery_eager  # noqa: F811
):
    from agents.models import Channel
    from tests.agents.factories import make_template

    broken = make_conversation(org, channel=make_channel(org), lead=lead_of(sdr, name="Bina"),
                               last_inbound_at=timezone.now() - timedelta(hours=1))
    Channel.objects.filter(pk=broken.channel_id).update(status="disconnected")
    closed_channel = make_channel(org)
    make_template(org, closed_channel, name="follow_up", body="Hi {{1}}, still keen on {{2}}?")
    closed = make_conversation(org, channel=closed_channel, lead=lead_of(sdr, name="Chitra"),
                               last_inbound_at=timezone.now() - timedelta(hours=30))
    signed_in(page, live_server, sdr)

    # The refusal (409) is swapped in beside the box; what was typed stays.
    page.goto(f"{live_server.url}/inbox/{broken.pk}/")
    page.get_by_label("Message", exact=True).fill("Hello Bina")
    with page.expect_response(lambda r: r.url.endswith("/reply/")) as answered:
        page.get_by_role("button", name="Send", exact=True).click()
    assert answered.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text("a manager must reconnect it")
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hello Bina")

    # Window closed: no free text, a template picker whose preview follows the parameters.
    page.goto(f"{live_server.url}/inbox/{closed.pk}/")
    expect(page.get_by_test_id("window-badge")).to_have_text("window closed: templates only")
    expect(page.get_by_label("Message", exact=True)).to_have_count(0)
    page.get_by_label("Template").select_option(label="follow_up (en_US)")
    expect(page.get_by_label("Parameter 1")).to_be_visible()
    page.get_by_label("Parameter 1").fill("Chitra")
    page.get_by_label("Parameter 2").fill("the demo")
    expect(page.get_by_test_id("template-preview")).to_have_text(
        "Hi Chitra, still keen on the demo?")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_test_id("thread").get_by_test_id("message").last).to_contain_text(
        "Hi Chitra, still keen on the demo?")
    (sent,) = provider_sandbox_server.meta.sent()
    assert sent["body"]["type"] == "template"
    assert sent["body"]["template"]["name"] == "follow_up"
