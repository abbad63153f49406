"""The lead's conversation on the lead page: its latest messages inline (newest at the bottom,
older ones on request), the inbox's reply box (free text in the window, a template outside
it) sending through the one send service, a first email from the tenant's mailbox for a lead
with no conversation yet, another tenant's ids 404, and the page's query count fixed."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import ChannelKind, Conversation, Direction, Message, MessageStatus
from agents.services import compose, outbound
from flexoraa import lead_panels
from flexoraa.actors import Actor
from flexoraa.models import AuditEvent, Role
from leads import services
from leads.models import Status
from tests.agents.factories import make_channel, make_conversation, make_message, make_template
from tests.factories import make_membership
from tests.leads.pages_support import HTMX, lead_of, page_of, query_count

pytestmark = pytest.mark.django_db


def chat_of(owner, *, hours_ago=1, messages=1, kind=ChannelKind.WHATSAPP, name="Asha Verma",
            **values):
    """A conversation of ``owner``'s lead with ``messages`` from the lead, the last one
    ``hours_ago``."""
    org = owner.organization
    lead = lead_of(owner, name=name, **values)
    last_in = timezone.now() - timedelta(hours=hours_ago)
    conversation = make_conversation(org, channel=make_channel(org, kind=kind), lead=lead,
                                     last_inbound_at=last_in)
    for number in range(messages):
        make_message(org, conversation, body=f"Message {number + 1} from {name}",
                     at=last_in - timedelta(minutes=messages - number - 1))
    return conversation


def sent_spy(monkeypatch) -> list[dict]:
    """Records each call of the one send service, which still does its work."""
    calls = []
    real = outbound.message_send

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(outbound, "message_send", spy)
    return calls


# --- the panel on the lead page -------------------------------------------------------------

def test_the_lead_page_shows_the_conversation_newest_at_the_bottom_with_a_reply_box(
    sdr, login_client
):
    conversation = chat_of(sdr, messages=3)
    page = page_of(login_client(sdr).get(f"/leads/{conversation.lead_id}/"))
    assert 'data-testid="lead-conversation"' in page
    first, second, third = (page.index(f"Message {n} from Asha Verma") for n in (1, 2, 3))
    assert first < second < third
    assert page.count('data-testid="lc-message"') == 3
    assert 'data-testid="lc-reply-form"' in page and 'name="text"' in page
    assert "window open, 2" in page  # 23 h left
    assert 'data-testid="lc-older"' not in page


def test_a_long_conversation_shows_its_latest_twenty_and_pages_back_to_the_rest(
    sdr, login_client
):
    conversation = chat_of(sdr, messages=25)
    client = login_client(sdr)
    page = page_of(client.get(f"/leads/{conversation.lead_id}/"))
    assert page.count('data-testid="lc-message"') == 20
    assert "Message 25 from" in page and "Message 5 from" not in page
    oldest_shown = Message.objects.get(body="Message 6 from Asha Verma")
    assert f"older/?before={oldest_shown.pk}" in page

    older = page_of(client.get(
        f"/inbox/lead-conversation/{conversation.pk}/older/?before={oldest_shown.pk}",
        headers=HTMX))
    assert older.count('data-testid="lc-message"') == 5
    assert "Message 1 from" in older and "Message 5 from" in older
    assert 'data-testid="lc-older"' not in older
    for before in ("", "x", "99999999999999999999", "0"):
        assert client.get(f"/inbox/lead-conversation/{conversation.pk}/older/?before={before}",
                          headers=HTMX).status_code == 404


def test_a_reply_from_the_lead_page_goes_through_the_one_send_service(
    sdr, login_client, monkeypatch
):
    conversation = chat_of(sdr)
    calls = sent_spy(monkeypatch)
    client_id = uuid.uuid4().hex
    response = login_client(sdr).post(
        f"/inbox/lead-conversation/{conversation.pk}/reply/",
        {"text": "Yes, 4 pm works.", "client_id": client_id}, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "lead-changed"
    fragment = page_of(response)
    assert 'data-testid="lc-reply-done">Sent.<' in fragment
    assert 'id="lead-conversation-messages" class="lc-scroll" tabindex="0" aria-label="Messages"' \
           ' hx-swap-oob="true"' in fragment
    assert "Yes, 4 pm works." in fragment
    (call,) = calls
    assert call["conversation"].pk == conversation.pk and call["author"].pk == sdr.pk
    assert call["sender"] == "sdr" and call["text"] == "Yes, 4 pm works."
    message = Message.objects.get(conversation=conversation, direction=Direction.OUTBOUND)
    assert message.status == MessageStatus.QUEUED and message.client_id == client_id
    conversation.lead.refresh_from_db()
    assert conversation.lead.status == Status.CONTACTED
    assert conversation.lead.first_response_at is not None


def test_a_double_submit_from_the_lead_page_sends_once(sdr, login_client):
    conversation = chat_of(sdr)
    form = {"text": "Once only", "client_id": uuid.uuid4().hex}
    client = login_client(sdr)
    for _ in range(2):
        client.post(f"/inbox/lead-conversation/{conversation.pk}/reply/", form, headers=HTMX)
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_the_lead_page_refreshes_its_own_cards_when_a_panel_changed_the_lead(sdr, login_client):
    conversation = chat_of(sdr)
    client = login_client(sdr)
    client.post(f"/inbox/lead-conversation/{conversation.pk}/reply/",
                {"text": "Hello", "client_id": uuid.uuid4().hex}, headers=HTMX)
    cards = page_of(client.get(f"/leads/{conversation.lead_id}/?refresh=1", headers=HTMX))
    assert 'data-testid="status-now">Contacted<' in cards
    assert cards.count('hx-swap-oob="true"') == 4 and "<html" not in cards
    assert "Status changed to contacted by the first reply." in cards


def test_a_blank_reply_is_refused_in_the_box_keeping_the_page(sdr, login_client):
    conversation = chat_of(sdr)
    client = login_client(sdr)
    response = client.post(f"/inbox/lead-conversation/{conversation.pk}/reply/",
                           {"text": "  ", "client_id": uuid.uuid4().hex}, headers=HTMX)
    assert response.status_code == 200  # swapped in place by htmx
    fragment = page_of(response)
    assert 'id="lead-conversation-reply"' in fragment and "<html" not in fragment
    assert 'data-testid="lc-reply-error"' in fragment
    plain = client.post(f"/inbox/lead-conversation/{conversation.pk}/reply/", {"text": ""},
                        follow=True)
    assert plain.redirect_chain == [(f"/leads/{conversation.lead_id}/", 302)]
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_outside_the_window_the_box_offers_templates_and_refuses_free_text(
    org, sdr, login_client
):
    conversation = chat_of(sdr, hours_ago=30)
    template = make_template(org, conversation.channel, name="follow_up",
                             body="Hi {{1}}, still interested?")
    client = login_client(sdr)
    page = page_of(client.get(f"/leads/{conversation.lead_id}/"))
    assert 'data-testid="lc-window-closed"' in page and "window closed: templates only" in page
    assert f'<option value="{template.pk}">follow_up (en_US)</option>' in page
    assert 'name="text"' not in page[page.index('id="lead-conversation-reply"'):]

    refused = page_of(client.post(f"/inbox/lead-conversation/{conversation.pk}/reply/",
                                  {"text": "Still there?", "client_id": uuid.uuid4().hex},
                                  headers=HTMX))
    assert 'data-testid="lc-reply-error"' in refused
    assert "template" in refused.lower()
    sent = client.post(f"/inbox/lead-conversation/{conversation.pk}/reply/", {
        "template": template.pk, "param1": "Asha", "client_id": uuid.uuid4().hex,
    }, headers=HTMX)
    assert 'data-testid="lc-reply-done">Sent.<' in page_of(sent)
    message = Message.objects.get(conversation=conversation, direction=Direction.OUTBOUND)
    assert message.template_id == template.pk and message.body == "Hi Asha, still interested?"


def test_a_lead_with_two_conversations_switches_between_them(org, sdr, login_client):
    whatsapp = chat_of(sdr, hours_ago=5)
    mail = make_conversation(org, channel=make_channel(org, kind=ChannelKind.GMAIL),
                             lead=whatsapp.lead, last_inbound_at=timezone.now())
    make_message(org, mail, body="Sent from my mailbox")
    Conversation.objects.filter(pk=mail.pk).update(last_message_at=timezone.now())
    client = login_client(sdr)
    page = page_of(client.get(f"/leads/{whatsapp.lead_id}/"))
    assert "Sent from my mailbox" in page and "Message 1 from" not in page  # newest first
    switched = page_of(client.get(f"/inbox/lead-conversation/{whatsapp.pk}/", headers=HTMX))
    assert "Message 1 from Asha Verma" in switched and "Sent from my mailbox" not in switched
    assert 'aria-current="true">WhatsApp<' in switched


# --- who reaches it -------------------------------------------------------------------------

def test_another_tenants_lead_and_conversation_are_not_found(
    org, other_org, manager, sdr, login_client
):
    rep = make_membership(other_org, role=Role.SDR)
    theirs = chat_of(rep, messages=2, name="Outside Olga")
    message = theirs.messages.first()
    form = {"text": "hi", "client_id": uuid.uuid4().hex}
    for client in (login_client(manager), login_client(sdr)):
        assert client.get(f"/leads/{theirs.lead_id}/").status_code == 404
        for url in (f"/inbox/lead-conversation/{theirs.pk}/",
                    f"/inbox/lead-conversation/{theirs.pk}/older/?before={message.pk}"):
            assert client.get(url, headers=HTMX).status_code == 404
        assert client.post(f"/inbox/lead-conversation/{theirs.pk}/reply/", form,
                           headers=HTMX).status_code == 404
        assert client.post(f"/inbox/lead/{theirs.lead_id}/email/",
                           {"subject": "Hi", "text": "hi"}).status_code == 404
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_a_rep_cannot_reach_a_colleagues_lead_conversation(org, sdr, login_client):
    theirs = chat_of(make_membership(org, role=Role.SDR))
    client = login_client(sdr)
    assert client.get(f"/inbox/lead-conversation/{theirs.pk}/", headers=HTMX).status_code == 404
    assert client.post(f"/inbox/lead-conversation/{theirs.pk}/reply/",
                       {"text": "hi", "client_id": uuid.uuid4().hex}).status_code == 404
    assert client.post(f"/inbox/lead/{theirs.lead_id}/email/",
                       {"subject": "Hi", "text": "hi"}).status_code == 404


# --- a first email --------------------------------------------------------------------------

def test_without_a_mailbox_the_box_says_what_to_connect(org, manager, sdr, login_client):
    lead = lead_of(sdr, name="Form Farah", email="farah@example.com")
    rep_page = page_of(login_client(sdr).get(f"/leads/{lead.pk}/"))
    assert 'data-testid="lc-connect-mailbox"' in rep_page
    assert "ask a manager to connect the team's Gmail" in rep_page
    manager_page = page_of(login_client(manager).get(f"/leads/{lead.pk}/"))
    assert 'href="/inbox/channels/gmail/connect/"' in manager_page
    no_address = lead_of(sdr, name="Phone Only")
    assert 'data-testid="lc-no-address"' in page_of(login_client(sdr).get(
        f"/leads/{no_address.pk}/"))


def test_a_first_email_starts_the_conversation_on_the_mailbox_in_one_go(
    org, sdr, login_client, monkeypatch
):
    mailbox = make_channel(org, kind=ChannelKind.GMAIL, external_id="sales@acme.example")
    lead = lead_of(sdr, name="Form Farah", email="farah@example.com")
    client = login_client(sdr)
    page = page_of(client.get(f"/leads/{lead.pk}/"))
    assert 'data-testid="lc-compose-form"' in page and "sales@acme.example" in page
    calls = sent_spy(monkeypatch)

    response = client.post(f"/inbox/lead/{lead.pk}/email/", {
        "subject": "Your enquiry", "text": "Hi Farah, thanks for writing in.",
        "client_id": uuid.uuid4().hex}, headers=HTMX)

    assert response.status_code == 200 and response["HX-Trigger"] == "lead-changed"
    fragment = page_of(response)
    assert "Email queued." in fragment and "Hi Farah, thanks for writing in." in fragment
    conversation = Conversation.objects.get(lead=lead)
    assert (conversation.channel_id, conversation.contact_id) == (mailbox.pk,
                                                                  "farah@example.com")
    message = Message.objects.get(conversation=conversation)
    assert (message.subject, message.sender, message.author_id) == ("Your enquiry", "sdr",
                                                                    sdr.pk)
    assert len(calls) == 1
    assert AuditEvent.objects.filter(action="conversation.started").count() == 1
    lead.refresh_from_db()
    assert lead.status == Status.CONTACTED


def test_a_first_email_refused_starts_nothing(org, sdr, login_client):
    make_channel(org, kind=ChannelKind.GMAIL)
    lead = lead_of(sdr, email="farah@example.com")
    client = login_client(sdr)
    fragment = page_of(client.post(f"/inbox/lead/{lead.pk}/email/",
                                   {"subject": "Hello", "text": "  "}, headers=HTMX))
    assert 'data-testid="lc-compose-error"' in fragment
    assert not Conversation.objects.exists()
    no_subject = page_of(client.post(f"/inbox/lead/{lead.pk}/email/",
                                     {"subject": "", "text": "Hi"}, headers=HTMX))
    assert "Subject: give the email a subject." in no_subject
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_the_compose_service_refuses_without_a_mailbox_or_an_address(org, sdr):
    from flexoraa.errors import ValidationFailed

    lead = lead_of(sdr, email="farah@example.com")
    actor = Actor.for_member(sdr)
    with pytest.raises(compose.ChannelDisconnected):
        compose.lead_email_start(org=org, lead=lead, author=sdr, subject="Hi", text="Hi",
                                 actor=actor)
    make_channel(org, kind=ChannelKind.GMAIL)
    with pytest.raises(ValidationFailed):
        compose.lead_email_start(org=org, lead=lead_of(sdr), author=sdr, subject="Hi",
                                 text="Hi", actor=actor)
    assert not Conversation.objects.exists()


# --- the registry and the query count ---------------------------------------------------------

def test_the_conversation_panel_is_registered_with_the_core_once():
    keys = [panel.key for panel in lead_panels.lead_panels()]
    assert keys.count("conversation") == 1
    from agents.views.lead_panel import register_lead_panel

    register_lead_panel()
    assert [panel.key for panel in lead_panels.lead_panels()].count("conversation") == 1


def test_the_lead_page_runs_the_same_queries_for_3_messages_as_for_60(
    org, manager, sdr, login_client, django_assert_num_queries
):
    conversation = chat_of(sdr, messages=3)
    lead = conversation.lead
    client = login_client(manager)
    client.get(f"/leads/{lead.pk}/")  # the first visit writes the default lost reasons
    count = query_count(client, f"/leads/{lead.pk}/")
    last_in = timezone.now() - timedelta(hours=1)
    for number in range(57):
        make_message(org, conversation, body=f"More {number}", at=last_in)
    make_message(org, make_conversation(org, channel=make_channel(org), lead=lead), body="x")
    for _ in range(5):
        services.note_add(org=org, lead=lead, body="@nobody a note", actor=Actor.for_member(sdr))
        services.follow_up_set(org=org, lead=lead, actor=Actor.for_member(sdr),
                               due_at=timezone.now() + timedelta(days=1))
    with django_assert_num_queries(count):
        client.get(f"/leads/{lead.pk}/")
