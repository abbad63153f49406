"""Factories for AgentOS tests: channels through the real service; conversations and
messages as rows (the services under test create them themselves)."""

import itertools
import uuid

from django.utils import timezone

from agents.models import (
    ChannelKind,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    SenderKind,
)
from agents.services.channels import channel_create, template_create
from tests.factories import SETUP_ACTOR
from tests.leads.factories import make_lead, next_phone

_ids = itertools.count(1)


def make_channel(org, *, kind=ChannelKind.WHATSAPP, external_id=None, access_token="tok",  # noqa: S107
                 refresh_token="", name=""):
    if external_id is None:
        external_id = (f"mailbox{next(_ids)}@example.test" if kind == ChannelKind.GMAIL
                       else f"1065{next(_ids):011d}")
    return channel_create(org=org, kind=kind, external_id=external_id, name=name,
                          access_token=access_token, refresh_token=refresh_token,
                          actor=SETUP_ACTOR)


def make_template(org, channel, *, name="follow_up", body="Hi {{1}}, are you still there?",
                  language="en_US", for_recovery=False):
    return template_create(org=org, channel=channel, name=name, body=body, language=language,
                           for_recovery=for_recovery, actor=SETUP_ACTOR)


def make_conversation(org, *, channel=None, lead=None, contact_id=None, last_inbound_at=None,
                      last_outbound_at=None, handed_to=None):
    """A conversation of ``lead`` (held by its owner; ``handed_to`` counts once the lead is
    closed)."""
    channel = channel or make_channel(org)
    lead = lead or make_lead(org)
    if contact_id is None:
        contact_id = (lead.email or f"lead{lead.pk}@example.test"
                      if channel.kind == ChannelKind.GMAIL else
                      (lead.phone or next_phone()).lstrip("+"))
    last_message_at = max(filter(None, (last_inbound_at, last_outbound_at)), default=None)
    return Conversation.objects.create(
        organization=org, channel=channel, lead=lead, contact_id=contact_id,
        handed_to=handed_to,
        last_inbound_at=last_inbound_at, last_outbound_at=last_outbound_at,
        last_message_at=last_message_at,
    )


def make_message(org, conversation, *, direction=Direction.INBOUND, body="Hello", at=None,
                 status=None, provider_message_id=None, predicted_intent=""):
    inbound = direction == Direction.INBOUND
    return Message.objects.create(
        organization=org, conversation=conversation, direction=direction,
        sender=SenderKind.LEAD if inbound else SenderKind.SDR, body=body,
        provider_message_id=(provider_message_id if provider_message_id is not None
                             else f"wamid.{uuid.uuid4().hex}"),
        client_id=uuid.uuid4().hex,
        status=status or (MessageStatus.RECEIVED if inbound else MessageStatus.SENT),
        created_at=at or timezone.now(), predicted_intent=predicted_intent,
    )
