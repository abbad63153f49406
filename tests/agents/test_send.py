"""The one send service against the Meta sandbox: the window, templates, retries,
idempotency, the HUMAN_AGENT tag and opt-outs."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.errors import LeadOptedOut, MessageInvalid, ProviderUnavailable, WindowClosed
from agents.models import ChannelKind, Conversation, Message, MessageStatus, SenderKind
from agents.services import outbound
from agents.services.channels import template_create
from flexoraa.errors import Conflict
from leads import services as lead_services
from leads.models import Lead
from tests.agents.factories import make_channel, make_conversation, make_template
from tests.factories import SETUP_ACTOR
from tests.leads.factories import make_lead

HOURS = timedelta(hours=1)


def ago(hours: float):
    return timezone.now() - hours * HOURS


@pytest.fixture
def open_chat(org):
    """A WhatsApp conversation whose lead wrote an hour ago."""
    return make_conversation(org, last_inbound_at=ago(1))


@pytest.fixture
def closed_chat(org):
    """A WhatsApp conversation whose lead last wrote 30 hours ago."""
    return make_conversation(org, last_inbound_at=ago(30))


def send(org, conversation, **values):
    values.setdefault("sender", SenderKind.AI)
    return outbound.message_send(org=org, conversation=conversation, **values)


def test_free_text_inside_the_window_reaches_the_provider_as_graph_text(
    org, open_chat, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    inbound_before = open_chat.last_inbound_at
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, open_chat, text="Here is our price list.")
    message.refresh_from_db()
    [record] = meta_sandbox.sent()
    body = record["body"]
    assert record["channel_id"] == open_chat.channel.external_id
    assert (body["messaging_product"], body["to"], body["type"]) == (
        "whatsapp", open_chat.contact_id, "text")
    assert body["text"]["body"] == "Here is our price list."
    assert body["biz_opaque_callback_data"] == message.client_id
    assert record["token"] == "tok"
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == record["message_id"]
    assert message.sent_at is not None and message.attempts == 1
    open_chat.refresh_from_db()
    assert open_chat.last_outbound_at == message.created_at
    assert open_chat.last_message_at == message.created_at
    assert open_chat.last_inbound_at == inbound_before  # our sends never reopen the window
    assert Lead.objects.get(pk=open_chat.lead_id).last_outbound_at == message.created_at


def test_free_text_after_the_window_is_refused_clearly_and_nothing_is_sent(
    org, closed_chat, meta_sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(WindowClosed) as refused:
        send(org, closed_chat, sender=SenderKind.SDR, text="Still interested?")
    assert refused.value.status_code == 409
    assert refused.value.code == "window_closed"
    assert "24 hours" in refused.value.message and "template" in refused.value.message
    assert callbacks == []
    assert not Message.objects.exists()
    assert meta_sandbox.sent() == []


def test_a_template_is_accepted_when_the_window_is_closed_and_sent_in_graphs_shape(
    org, closed_chat, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    template = make_template(org, closed_chat.channel, name="follow_up",
                             body="Hi {{1}}, are you still there?")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, closed_chat, sender=SenderKind.SDR, template=template,
                       template_params=["Ada"])
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.body == "Hi Ada, are you still there?"
    [record] = meta_sandbox.sent()
    assert record["body"]["type"] == "template"
    assert record["body"]["template"] == {
        "name": "follow_up", "language": {"code": "en_US", "policy": "deterministic"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}],
    }


def test_the_providers_re_engagement_error_fails_the_message_as_window_closed(
    org, open_chat, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    # Meta knows better than our clock: it says the window is closed.
    meta_sandbox.inbound(open_chat.channel.external_id, open_chat.contact_id,
                         at=time.time() - 25 * 3600)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, open_chat, text="Hello again")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "131047"
    assert message.error_message.startswith("Window closed")
    assert meta_sandbox.sent() == []


def test_a_window_that_closes_before_the_worker_sends_fails_the_message(
    org, open_chat, meta_sandbox
):
    message = send(org, open_chat, text="Quick question")
    Conversation.objects.filter(pk=open_chat.pk).update(last_inbound_at=ago(25))
    assert outbound.message_deliver(message_id=message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.error_code == "window_closed"
    assert "Window closed before the message went" in message.error_message
    assert meta_sandbox.sent() == []


def test_timeouts_and_5xx_are_retried_until_the_message_is_sent(
    org, open_chat, meta_sandbox, settings
):
    settings.PROVIDER_TIMEOUT_SECONDS = 0.3
    meta_sandbox.fail_next(503, 2)
    meta_sandbox.delay_next(1)
    message = send(org, open_chat, text="Hello")
    # What the worker does: each unavailable answer puts the row back in the queue and
    # the task runs again later.
    outcomes = []
    for _ in range(5):
        try:
            outcomes.append(outbound.message_deliver(message_id=message.pk))
            break
        except ProviderUnavailable:
            outcomes.append("retry")
            assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED
    assert outcomes == ["retry", "retry", MessageStatus.SENT]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 3)
    assert message.provider_message_id == meta_sandbox.sent()[-1]["message_id"]


def test_the_send_task_retries_a_5xx_and_a_timeout_then_sends_once(
    org, open_chat, meta_sandbox, settings
):
    from agents.tasks import send_message

    settings.PROVIDER_TIMEOUT_SECONDS = 0.3
    message = send(org, open_chat, text="Hello")
    meta_sandbox.fail_next(500, 1)
    meta_sandbox.delay_next(1)
    # Run as a worker runs it (apply() retries in place, without the countdown).
    result = send_message.apply(args=[message.pk], throw=False)
    assert (result.state, result.result) == ("SUCCESS", MessageStatus.SENT)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 3)


def test_the_send_task_gives_up_when_the_provider_stays_unavailable(
    org, open_chat, meta_sandbox, settings
):
    from agents.tasks import send_message

    settings.MESSAGE_SEND_MAX_RETRIES = 2
    message = send(org, open_chat, text="Hello")
    for _ in range(3):
        meta_sandbox.fail_next(502, 2)
    result = send_message.apply(args=[message.pk], throw=False)
    assert (result.state, result.result) == ("SUCCESS", MessageStatus.FAILED)
    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == (
        MessageStatus.FAILED, "provider_unavailable", 3)
    assert "gave up" in message.error_message
    assert meta_sandbox.sent() == []


def test_a_refusal_fails_the_message_without_retrying(
    org, open_chat, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    meta_sandbox.fail_next(400, 100, message="(#100) Invalid parameter")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, open_chat, text="Hello")
    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == (
        MessageStatus.FAILED, "100", 1)
    assert "Invalid parameter" in message.error_message


def test_the_retry_delay_grows_with_jitter_and_is_capped():
    assert all(2 <= outbound.retry_delay(0) <= 5 for _ in range(50))
    assert all(20 <= outbound.retry_delay(3) <= 40 for _ in range(50))
    assert all(150 <= outbound.retry_delay(30) <= 300 for _ in range(50))
    assert len({outbound.retry_delay(4) for _ in range(50)}) > 1


def test_the_same_client_id_returns_the_first_message_and_sends_once(
    org, open_chat, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = send(org, open_chat, text="Hello", client_id="c-123")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = send(org, open_chat, text="Hello", client_id="c-123")
    assert again.pk == first.pk
    assert callbacks == []
    assert Message.objects.count() == 1
    assert len(meta_sandbox.sent()) == 1


def test_a_client_id_reused_for_another_message_is_a_conflict(org, open_chat):
    send(org, open_chat, text="Hello", client_id="c-9")
    with pytest.raises(Conflict):
        send(org, open_chat, text="Something else", client_id="c-9")
    other = make_conversation(org, last_inbound_at=ago(1))
    with pytest.raises(Conflict):
        send(org, other, text="Hello", client_id="c-9")


def test_another_tenant_may_use_the_same_client_id_without_touching_ours(
    org, other_org, open_chat
):
    ours = send(org, open_chat, text="Hello", client_id="shared-id")
    theirs = send(other_org, make_conversation(other_org, last_inbound_at=ago(1)),
                  text="Something else", client_id="shared-id")
    assert theirs.pk != ours.pk and theirs.organization_id == other_org.pk
    ours.refresh_from_db()
    assert ours.body == "Hello"


def test_a_second_delivery_of_the_same_message_sends_nothing(org, open_chat, meta_sandbox):
    message = send(org, open_chat, text="Hello")
    assert outbound.message_deliver(message_id=message.pk) == MessageStatus.SENT
    assert outbound.message_deliver(message_id=message.pk) == MessageStatus.SENT
    assert len(meta_sandbox.sent()) == 1


def test_messenger_human_replies_carry_the_human_agent_tag_within_seven_days(
    org, sdr, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    chat = make_conversation(org, channel=make_channel(org, kind=ChannelKind.MESSENGER),
                             last_inbound_at=ago(72))
    meta_sandbox.inbound(chat.channel.external_id, chat.contact_id, at=time.time() - 72 * 3600)
    with pytest.raises(WindowClosed):
        send(org, chat, sender=SenderKind.AI, text="Automated nudge")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, chat, sender=SenderKind.SDR, author=sdr, text="Sorry for the wait")
    message.refresh_from_db()
    assert (message.status, message.tag) == (MessageStatus.SENT, "HUMAN_AGENT")
    [record] = meta_sandbox.sent()
    assert record["body"] == {"recipient": {"id": chat.contact_id},
                              "message": {"text": "Sorry for the wait"},
                              "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}


def test_messenger_replies_inside_a_day_are_plain_responses(
    org, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    chat = make_conversation(org, channel=make_channel(org, kind=ChannelKind.INSTAGRAM),
                             last_inbound_at=ago(2))
    meta_sandbox.channel_kind(chat.channel.external_id, "instagram")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, chat, sender=SenderKind.AI, text="Happy to help")
    message.refresh_from_db()
    assert (message.status, message.tag) == (MessageStatus.SENT, "")
    assert meta_sandbox.sent()[0]["body"]["messaging_type"] == "RESPONSE"


def test_messenger_replies_after_seven_days_are_refused_even_to_people(org, sdr, meta_sandbox):
    chat = make_conversation(org, channel=make_channel(org, kind=ChannelKind.MESSENGER),
                             last_inbound_at=ago(8 * 24))
    with pytest.raises(WindowClosed) as refused:
        send(org, chat, sender=SenderKind.SDR, author=sdr, text="Hello?")
    assert "7 days" in refused.value.message
    assert meta_sandbox.sent() == []


def test_an_opted_out_lead_gets_no_ai_or_system_message_but_a_person_may_answer(
    org, sdr, open_chat
):
    lead_services.lead_opt_out(org=org, lead=open_chat.lead, at=timezone.now(),
                               channel="whatsapp", evidence="wamid.x", actor=SETUP_ACTOR)
    open_chat.refresh_from_db()
    for sender in (SenderKind.AI, SenderKind.SYSTEM):
        with pytest.raises(LeadOptedOut):
            send(org, open_chat, sender=sender, text="Special offer!")
    reply = send(org, open_chat, sender=SenderKind.SDR, author=sdr, text="Noted, thank you.")
    assert reply.status == MessageStatus.QUEUED


def test_a_lead_opting_out_after_an_ai_message_was_queued_stops_it(org, open_chat, meta_sandbox):
    message = send(org, open_chat, text="Offer")
    lead_services.lead_opt_out(org=org, lead=open_chat.lead, at=timezone.now(),
                               channel="whatsapp", actor=SETUP_ACTOR)
    assert outbound.message_deliver(message_id=message.pk) == MessageStatus.FAILED
    assert Message.objects.get(pk=message.pk).error_code == "lead_opted_out"
    assert meta_sandbox.sent() == []


def test_the_first_sdr_reply_marks_the_leads_first_response_and_ai_sends_do_not(
    org, sdr, open_chat
):
    send(org, open_chat, sender=SenderKind.AI, text="Hi, I'm the assistant")
    assert Lead.objects.get(pk=open_chat.lead_id).first_response_at is None
    message = send(org, open_chat, sender=SenderKind.SDR, author=sdr, text="Hi, I'm Priya")
    assert Lead.objects.get(pk=open_chat.lead_id).first_response_at == message.created_at
    assert message.author == sdr


@pytest.mark.parametrize(("text", "field"), [("", "text"), ("   ", "text"),
                                             ("x" * 4097, "text")])
def test_empty_or_too_long_text_is_refused(org, open_chat, text, field):
    with pytest.raises(MessageInvalid) as refused:
        send(org, open_chat, text=text)
    assert field in refused.value.fields
    assert not Message.objects.exists()


def test_templates_must_be_this_channels_approved_ones_with_every_parameter(org, closed_chat):
    template = make_template(org, closed_chat.channel, body="Hi {{1}}, from {{2}}")
    other = make_template(org, make_channel(org), name="elsewhere", body="Hello")
    unapproved = template_create(org=org, channel=closed_chat.channel, name="draft",
                                 body="Hi", approved=False, actor=SETUP_ACTOR)
    for wrong in (
        {"template": other},
        {"template": unapproved},
        {"template": template, "template_params": ["Ada"]},
        {"template": template, "template_params": ["Ada", " "]},
        {"template": template, "template_params": ["Ada", "Acme"], "text": "and text"},
    ):
        with pytest.raises(MessageInvalid):
            send(org, closed_chat, **wrong)
    assert not Message.objects.exists()


def test_a_conversation_of_another_tenant_is_not_found(org, other_org, open_chat):
    from flexoraa.errors import NotFound

    with pytest.raises(NotFound):
        outbound.message_send(org=other_org, conversation=open_chat, sender=SenderKind.AI,
                              text="Hello")


def test_a_lead_without_a_name_is_still_reachable_by_template(org, meta_sandbox):
    chat = make_conversation(org, lead=make_lead(org, name=""), last_inbound_at=None)
    template = make_template(org, chat.channel, body="Hello!")
    message = send(org, chat, sender=SenderKind.SYSTEM, template=template)
    assert message.status == MessageStatus.QUEUED
    with pytest.raises(WindowClosed) as refused:
        send(org, chat, text="Hello")
    assert "never written" in refused.value.message


def test_an_email_reply_goes_through_gmail_in_the_leads_thread(
    org, sdr, provider_sandbox_server, celery_eager, django_capture_on_commit_callbacks
):
    google = provider_sandbox_server.google
    if google is None:
        pytest.skip("this checkout has no Google sandbox")
    address = "sales@example.test"
    access, refresh = google.tokens_issue(address)
    channel = make_channel(org, kind=ChannelKind.GMAIL, external_id=address,
                           access_token=access, refresh_token=refresh)
    lead = make_lead(org, email="buyer@example.com")
    # The first email of a thread: Gmail's thread id is that email's id.
    thread_id = google.email_receive(address, "buyer@example.com", "Pricing", "How much?")
    chat = make_conversation(org, channel=channel, lead=lead, contact_id="buyer@example.com",
                             last_inbound_at=ago(100))
    Conversation.objects.filter(pk=chat.pk).update(thread_id=thread_id)
    chat.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        message = send(org, chat, sender=SenderKind.SDR, author=sdr, text="It is 999 INR.")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    [email] = google.sent()
    assert email["id"] == message.provider_message_id
    assert email["threadId"] == thread_id
    assert email["message"]["To"] == "buyer@example.com"
    assert email["message"].get_content().strip() == "It is 999 INR."
