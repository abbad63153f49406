"""What the inbox page tests share."""

from datetime import timedelta

from django.utils import timezone

from agents.models import ChannelKind
from tests.agents.factories import make_channel, make_conversation, make_message
from tests.leads.pages_support import lead_of


def open_conversation(owner, *, hours_ago=1, name="Asha Lead", kind=ChannelKind.WHATSAPP,
                      channel=None, **values):
    """A conversation of ``owner``'s lead whose last inbound message came ``hours_ago``."""
    org = owner.organization
    lead = lead_of(owner, name=name, **values)
    last_in = timezone.now() - timedelta(hours=hours_ago)
    conversation = make_conversation(org, channel=channel or make_channel(org, kind=kind),
                                     lead=lead, last_inbound_at=last_in)
    make_message(org, conversation, body=f"Hello from {name}", at=last_in)
    return conversation
