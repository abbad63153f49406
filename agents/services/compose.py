"""Writing first: an email to a lead nobody has a conversation with yet (a web form, an
import, the API brought it in), from the tenant's connected Gmail mailbox.

The conversation on the mailbox and the email start in one transaction, and the email goes
through the one send service (``outbound.message_send``), so its checks, its idempotency and
its delivery after commit are the inbox's; the first reply marks the lead's first response
there too.
"""

import logging

from django.db import transaction

from agents.errors import ChannelDisconnected, MessageInvalid
from agents.models import Channel, ChannelKind, ChannelStatus, Conversation, Message, SenderKind
from agents.services import outbound
from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound, ValidationFailed
from flexoraa.models import Membership, Organization
from flexoraa.services import audit_event_record
from flexoraa.storable import unstorable_text_reason
from leads import services as lead_services

logger = logging.getLogger(__name__)

SUBJECT_MAX = Message._meta.get_field("subject").max_length
NO_MAILBOX = ("No Gmail mailbox is connected: a manager connects one (Inbox, Connect Gmail) "
              "to write to leads by email.")


def mailbox_for(org: Organization) -> Channel | None:
    """The tenant's connected Gmail mailbox that first emails go from (the oldest one)."""
    return (Channel.objects.for_org(org)
            .filter(kind=ChannelKind.GMAIL, status=ChannelStatus.CONNECTED)
            .order_by("pk").first())


def _subject_checked(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise MessageInvalid("subject: give the email a subject.",
                             fields={"subject": ["Required."]})
    if len(subject) > SUBJECT_MAX:
        raise MessageInvalid(f"subject: keep it to {SUBJECT_MAX} characters.",
                             fields={"subject": [f"At most {SUBJECT_MAX} characters."]})
    problem = unstorable_text_reason(subject)
    if problem is not None:
        raise MessageInvalid(f"subject: {problem}", fields={"subject": [problem]})
    return subject


def lead_email_start(*, org: Organization, lead, author: Membership | None, subject: str,
                     text: str, actor: Actor, client_id: str | None = None) -> Message:
    """Start the lead's conversation on the tenant's mailbox and queue the first email to the
    lead's address, in one transaction (the lead's row locked first, as every writer of a lead
    and its conversations takes it). The same ``client_id`` again returns the first email.
    When the lead has a conversation on the mailbox already, the email goes there.

    Raises ``NotFound`` across tenants, ``ValidationFailed`` naming ``email`` when the lead
    has no address, ``ChannelDisconnected`` without a connected mailbox, ``MessageInvalid``
    (subject or text) and, from the send service, ``LeadOptedOut`` and ``Conflict``."""
    if lead.organization_id != org.pk:
        raise NotFound("No such lead.")
    subject = _subject_checked(subject)
    address = (lead.email or "").strip().lower()
    if not address:
        raise ValidationFailed("email: this lead has no email address to write to.",
                               fields={"email": ["No email address."]})
    channel = mailbox_for(org)
    if channel is None:
        raise ChannelDisconnected(NO_MAILBOX)
    with transaction.atomic():
        lead = lead_services.lead_lock(org=org, lead=lead)
        conversation = (Conversation.objects.for_org(org)
                        .filter(channel=channel, contact_id=address).first())
        if conversation is not None and conversation.lead_id != lead.pk:
            raise Conflict("This address belongs to another lead's conversation.",
                           fields={"email": ["Used by another lead's conversation."]})
        started = conversation is None
        if started:
            conversation = Conversation.objects.create(
                organization=org, channel=channel, lead=lead, contact_id=address,
                contact_name=(lead.name or "")[:200])
        conversation.lead, conversation.channel = lead, channel
        message = outbound.message_send(
            org=org, conversation=conversation, sender=SenderKind.SDR, author=author,
            text=text, client_id=client_id)
        if not message.subject:
            # Nothing from the lead to answer yet, so the send service had no subject to
            # reply under; the email goes (after commit) with the one written here.
            Message.objects.filter(pk=message.pk).update(subject=subject)
            message.subject = subject
        if started:
            audit_event_record(org=org, actor=actor, action="conversation.started",
                               target=conversation,
                               data={"channel": channel.pk, "lead": lead.pk,
                                     "message": message.pk})
    logger.info("first email queued", extra={"organization_id": org.pk, "lead_id": lead.pk,
                                             "conversation_id": conversation.pk,
                                             "message_id": message.pk, "started": started})
    return message
