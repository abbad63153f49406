"""Cold recovery: a silent lead gets a nudge (a template once the window has closed), at
most the configured number of times, never when closed or opted out, never twice at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import ChannelKind, Conversation, Message, MessageKind, SenderKind
from agents.services import outbound
from agents.services.channels import inbox_settings_update
from leads import services as lead_services
from leads.models import Lead
from tests.agents.factories import make_channel, make_conversation, make_template
from tests.factories import SETUP_ACTOR
from tests.leads.factories import make_lead
from tests.support import errors_of, needs_postgres, run_together

HOURS = timedelta(hours=1)


def ago(hours: float):
    return timezone.now() - hours * HOURS


def silent_chat(org, *, inbound_hours=50, outbound_hours=30, name="Asha Rao", channel=None):
    """The lead wrote ``inbound_hours`` ago, we answered ``outbound_hours`` ago, then
    silence."""
    return make_conversation(org, channel=channel, lead=make_lead(org, name=name),
                             last_inbound_at=ago(inbound_hours) if inbound_hours else None,
                             last_outbound_at=ago(outbound_hours))


def recovery_messages(conversation=None):
    messages = Message.objects.filter(sender=SenderKind.SYSTEM)
    return messages.filter(conversation=conversation) if conversation else messages


def test_a_lead_silent_past_the_window_gets_the_recovery_template_with_its_first_name(
    org, meta_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    chat = silent_chat(org)
    make_template(org, chat.channel, name="ordinary", body="Hello {{1}}")
    make_template(org, chat.channel, name="we_miss_you", body="Hi {{1}}, still looking?",
                  for_recovery=True)
    with django_capture_on_commit_callbacks(execute=True):
        result = outbound.cold_recovery_run()
    assert result["sent_template"] == 1 and result["sent_text"] == 0
    [message] = recovery_messages(chat)
    assert (message.kind, message.template.name, message.template_params) == (
        MessageKind.TEMPLATE, "we_miss_you", ["Asha"])
    [record] = meta_sandbox.sent()
    assert record["body"]["template"]["name"] == "we_miss_you"
    chat.refresh_from_db()
    assert chat.recovery_count == 1 and chat.last_recovery_at is not None
    assert chat.last_outbound_at == message.created_at


def test_a_nameless_lead_is_greeted_as_there(org):
    chat = silent_chat(org, name="")
    make_template(org, chat.channel, name="we_miss_you", body="Hi {{1}}!", for_recovery=True)
    outbound.cold_recovery_run()
    assert recovery_messages(chat).get().body == "Hi there!"


def test_while_the_window_is_open_the_recovery_text_goes(org):
    inbox_settings_update(org=org, recovery_after_hours=2, recovery_text="Any questions?",
                          actor=SETUP_ACTOR)
    chat = silent_chat(org, inbound_hours=5, outbound_hours=4)
    make_template(org, chat.channel, name="we_miss_you", body="Hi {{1}}", for_recovery=True)
    result = outbound.cold_recovery_run()
    assert result["sent_text"] == 1
    message = recovery_messages(chat).get()
    assert (message.kind, message.body) == (MessageKind.TEXT, "Any questions?")


def test_a_closed_window_without_a_recovery_template_is_skipped_and_counted(org):
    chat = silent_chat(org)
    result = outbound.cold_recovery_run()
    assert result["skipped_no_template"] == 1
    assert not recovery_messages().exists()
    chat.refresh_from_db()
    assert chat.recovery_count == 0


def test_messenger_leads_past_the_window_are_skipped(org):
    silent_chat(org, channel=make_channel(org, kind=ChannelKind.MESSENGER))
    assert outbound.cold_recovery_run()["skipped_no_template"] == 1
    assert not recovery_messages().exists()


def test_gmail_has_no_window_so_the_text_goes(org):
    chat = silent_chat(org, channel=make_channel(org, kind=ChannelKind.GMAIL))
    assert outbound.cold_recovery_run()["sent_text"] == 1
    assert recovery_messages(chat).get().kind == MessageKind.TEXT


def test_a_lead_gets_at_most_the_configured_number_of_recovery_messages(org):
    inbox_settings_update(org=org, recovery_max_attempts=2, actor=SETUP_ACTOR)
    chat = silent_chat(org)
    make_template(org, chat.channel, name="we_miss_you", body="Hi {{1}}", for_recovery=True)
    for day in range(5):
        outbound.cold_recovery_run(now=timezone.now() + timedelta(days=day, hours=1))
    assert recovery_messages(chat).count() == 2
    chat.refresh_from_db()
    assert chat.recovery_count == 2


def test_a_second_run_the_same_day_sends_nothing_more(org):
    chat = silent_chat(org)
    make_template(org, chat.channel, name="we_miss_you", body="Hi {{1}}", for_recovery=True)
    outbound.cold_recovery_run()
    assert outbound.cold_recovery_run()["sent_template"] == 0
    assert recovery_messages(chat).count() == 1


def test_leads_who_replied_are_closed_or_opted_out_get_nothing(org):
    channel = make_channel(org)
    make_template(org, channel, name="we_miss_you", body="Hi {{1}}", for_recovery=True)
    replied = silent_chat(org, channel=channel, inbound_hours=26, outbound_hours=30)
    too_soon = silent_chat(org, channel=channel, outbound_hours=10)
    won = silent_chat(org, channel=channel)
    Lead.objects.filter(pk=won.lead_id).update(status="won")
    lost = silent_chat(org, channel=channel)
    Lead.objects.filter(pk=lost.lead_id).update(status="lost")
    opted_out = silent_chat(org, channel=channel)
    lead_services.lead_opt_out(org=org, lead=opted_out.lead, at=timezone.now(),
                               channel="whatsapp", actor=SETUP_ACTOR)
    never_answered = silent_chat(org, channel=channel, inbound_hours=None)
    result = outbound.cold_recovery_run()
    assert result["sent_template"] == 1
    assert list(recovery_messages().values_list("conversation_id", flat=True)) == [
        never_answered.pk]
    for chat in (replied, too_soon, won, lost, opted_out):
        assert Conversation.objects.get(pk=chat.pk).recovery_count == 0


def test_recovery_can_be_switched_off_per_tenant(org, other_org):
    inbox_settings_update(org=org, recovery_enabled=False, actor=SETUP_ACTOR)
    for tenant in (org, other_org):
        chat = silent_chat(tenant)
        make_template(tenant, chat.channel, name="we_miss_you", body="Hi {{1}}",
                      for_recovery=True)
    outbound.cold_recovery_run()
    assert list(recovery_messages().values_list("organization_id", flat=True)) == [
        other_org.pk]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_recovery_runs_at_once_never_send_twice(org, meta_sandbox, celery_eager):
    channel = make_channel(org)
    make_template(org, channel, name="we_miss_you", body="Hi {{1}}", for_recovery=True)
    chats = [silent_chat(org, channel=channel) for _ in range(12)]
    outcomes = run_together(2, lambda _n: outbound.cold_recovery_run())
    assert errors_of(outcomes) == []
    assert sum(outcome["sent_template"] for outcome in outcomes) == 12
    for chat in chats:
        assert recovery_messages(chat).count() == 1
        assert Conversation.objects.get(pk=chat.pk).recovery_count == 1
    recipients = sorted(record["body"]["to"] for record in meta_sandbox.sent())
    assert recipients == sorted(chat.contact_id for chat in chats)
