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


def unread_of(conversation, reader=None) -> int:
    """The conversation's unread messages for ``reader`` (a membership), or for whoever
    holds it; with nobody holding it, every message from the lead."""
    from agents import selectors
    from agents.models import Conversation, Direction

    rows = Conversation.objects.filter(pk=conversation.pk)
    found = selectors.with_unread(rows, reader).get().unread_count
    if found is None:
        return conversation.messages.filter(direction=Direction.INBOUND).count()
    return found
