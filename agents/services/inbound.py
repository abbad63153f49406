"""Meta's inbound events, applied: a stored delivery (``flexoraa.webhooks`` stores, queues
and retries it, the same for every provider) becomes a lead, a conversation, a message or a
message status. ``delivery_apply`` runs in the delivery's own transaction under its row lock.
Deliveries arrive out of order: conversation times only move forward, and a message status
only moves up its rank.
"""

import logging

from django.db.models import F, Value
from django.db.models.fields import DateTimeField
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.meta_events import (
    Inbound,
    as_dict,
    as_text,
    contact_key,
    from_milliseconds,
    from_seconds,
    messaging_inbound,
    whatsapp_inbound,
)
from agents.models import (
    STATUS_RANK,
    Channel,
    ChannelKind,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from agents.services.receiving import (
    DuplicateMessage,
    Received,
    inbound_message_store,
    message_read,
)
from flexoraa.actors import Actor
from flexoraa.models import WebhookDelivery
from flexoraa.webhooks.adapters import DeliveryDuplicate, DeliveryNotYet
from leads import services as lead_services
from leads.errors import InvalidContact

logger = logging.getLogger(__name__)

WINDOW_CLOSED_CODE = "131047"
WINDOW_CLOSED_MESSAGE = "The 24-hour window was closed: send a template."
TIMESTAMP_FIELD = {MessageStatus.SENT: "sent_at", MessageStatus.DELIVERED: "delivered_at",
                   MessageStatus.READ: "read_at"}
# A later status implies the earlier ones happened; their times are filled when missing.
IMPLIED_FIELDS = {MessageStatus.DELIVERED: ("sent_at",),
                  MessageStatus.READ: ("sent_at", "delivered_at"),
                  MessageStatus.FAILED: ()}
ERROR_CODE_MAX = Message._meta.get_field("error_code").max_length
ERROR_MESSAGE_MAX = Message._meta.get_field("error_message").max_length


def delivery_apply(delivery: WebhookDelivery) -> str:
    """Apply one stored Meta event; sets ``delivery.organization_id`` from the channel.
    Raises ``MalformedEvent`` (failed for good), ``DeliveryNotYet`` (a status before its
    message's id is stored) or ``DeliveryDuplicate`` (the message came in another delivery)."""
    outcome, org_id = _delivery_apply(delivery)
    delivery.organization_id = org_id
    return outcome


def _delivery_apply(delivery: WebhookDelivery) -> tuple[str, int | None]:
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    external_id = payload.get("channel_id")
    channel = None
    if isinstance(external_id, str) and external_id:
        channel = (Channel.objects.select_related("organization")
                   .filter(kind=delivery.provider, external_id=external_id).first())
    if channel is None:
        # The channel was removed after the event was stored.
        logger.warning("meta delivery for a channel no longer connected",
                       extra={"delivery_id": delivery.pk, "channel_external_id": external_id})
        return "unknown_channel", delivery.organization_id
    # The database decides the tenant, not what the endpoint remembered when it stored this.
    org_id = channel.organization_id
    if delivery.event_type == "status":
        return _status_apply(channel, payload.get("status")), org_id
    if delivery.event_type == "read_watermark":
        return _read_watermark_apply(channel, payload), org_id
    if delivery.provider == ChannelKind.WHATSAPP:
        inbound = whatsapp_inbound(payload, fallback_at=delivery.received_at)
    else:
        inbound = messaging_inbound(payload, fallback_at=delivery.received_at)
    return _message_apply(channel, inbound), org_id


# --- applying an inbound message -------------------------------------------------------------

def _conversation_for(channel: Channel, inbound: Inbound,
                      first_message: lead_services.MessageReading) -> tuple[Conversation, bool]:
    """The person's conversation on this channel; created with its lead the first time the
    person writes, the lead scored with that first message. True when the lead was created
    with the message (it is counted on the lead already). Not locked: the caller locks it
    after the lead (the order every lead-then-conversation writer takes, so none of them
    deadlock)."""
    org = channel.organization
    found = (Conversation.objects.for_org(org).select_related("lead")
             .filter(channel=channel, contact_id=inbound.contact_id))
    conversation = found.first()
    if conversation is not None:
        return conversation, False
    # Two first messages of a new person processed at once must make one lead, not two:
    # the channel's row lock lets one first contact through per channel at a time.
    Channel.objects.select_for_update(no_key=True).filter(pk=channel.pk).values_list(
        "pk", flat=True).first()
    conversation = found.first()
    if conversation is not None:
        return conversation, False
    result = _lead_for(org, channel.kind, inbound, first_message)
    conversation = Conversation.objects.create(
        organization=org, channel=channel, lead=result.lead, contact_id=inbound.contact_id,
        contact_name=inbound.contact_name,
    )
    return conversation, result.created


def _lead_for(org, source: str, inbound: Inbound,
              first_message: lead_services.MessageReading) -> lead_services.IntakeResult:
    """A new lead scored with its first message (or, with a known phone, the tenant's
    existing one: intake merges)."""
    actor = Actor.system(f"webhook:{source}")
    data = lead_services.LeadInput(name=inbound.contact_name, phone=inbound.phone)
    try:
        return lead_services.lead_intake(org=org, data=data, source=source, actor=actor,
                                         contact_required=bool(inbound.phone),
                                         first_message=first_message)
    except InvalidContact:
        # A sender id that is not a dialable number still is a person writing to us: the
        # conversation finds the lead again, the message is not lost.
        data = lead_services.LeadInput(name=inbound.contact_name)
        return lead_services.lead_intake(org=org, data=data, source=source, actor=actor,
                                         contact_required=False, first_message=first_message)


def _message_apply(channel: Channel, inbound: Inbound) -> str:
    received = Received(provider_message_id=inbound.provider_message_id, at=inbound.at,
                        kind=inbound.kind, body=inbound.body, attachments=inbound.attachments,
                        contact_name=inbound.contact_name)
    # Read first: a lead this message creates is scored, routed and clocked with it.
    reading = message_read(received, channel.organization)
    conversation, counted = _conversation_for(channel, inbound, reading.for_lead(received.at))
    try:
        outcome, _message = inbound_message_store(
            channel=channel, conversation=conversation,
            actor=Actor.system(f"webhook:{channel.kind}"), received=received,
            reading=reading, lead_counted=counted)
    except DuplicateMessage as exc:
        # Another delivery row of the same message won the race: undo this one's work.
        raise DeliveryDuplicate from exc
    return outcome


# --- applying a status -----------------------------------------------------------------------

def _status_error(status: dict) -> tuple[str, str]:
    errors = status.get("errors")
    first = as_dict(errors[0]) if isinstance(errors, list) and errors else {}
    code = first.get("code")
    code = str(code) if isinstance(code, int | str) and not isinstance(code, bool) else ""
    if code == WINDOW_CLOSED_CODE:
        return code, WINDOW_CLOSED_MESSAGE
    title = (as_text(first.get("title")) or as_text(first.get("message"))
             or "The provider refused it.")
    return code[:ERROR_CODE_MAX], title[:ERROR_MESSAGE_MAX]


def _status_apply(channel: Channel, status) -> str:
    status = as_dict(status)
    state, message_id = as_text(status.get("status")), as_text(status.get("id"))
    rank = STATUS_RANK.get(state)
    if rank is None or not message_id:
        return "status_ignored"  # e.g. "deleted" or "warning": nothing we track
    at = from_seconds(status.get("timestamp"), timezone.now())
    changes: dict = {"status": state, "status_rank": rank}
    if state in TIMESTAMP_FIELD:
        changes[TIMESTAMP_FIELD[state]] = at
    for implied in IMPLIED_FIELDS.get(state, ()):
        changes[implied] = Coalesce(F(implied), Value(at, output_field=DateTimeField()))
    if state == MessageStatus.FAILED:
        changes["error_code"], changes["error_message"] = _status_error(status)
    # The channel's conversations as a subquery, not a join: Django turns an UPDATE over a
    # join into "id IN (SELECT …)", and PostgreSQL would then not re-check the rank against a
    # row another status changed meanwhile. Written this way every condition is on the
    # message row itself, re-checked under its row lock.
    ours = Message.objects.for_org(channel.organization).filter(
        conversation__in=Conversation.objects.filter(channel=channel).values("pk"),
        direction=Direction.OUTBOUND, provider_message_id=message_id)
    # One conditional UPDATE: a lower or equal rank (a late "delivered" after "read") never
    # overwrites, whatever order the callbacks come in.
    if ours.filter(status_rank__lt=rank).update(**changes):
        return "status_updated"
    if ours.exists():
        return "status_stale"
    # The callback beat the provider's answer to our send: our own id, which the send put in
    # biz_opaque_callback_data, names the message until the wamid is stored.
    client_id = as_text(status.get("biz_opaque_callback_data"))
    if client_id and Message.objects.for_org(channel.organization).filter(
        conversation__in=Conversation.objects.filter(channel=channel).values("pk"),
        direction=Direction.OUTBOUND, client_id=client_id, provider_message_id="",
    ).update(provider_message_id=message_id):
        ours.filter(status_rank__lt=rank).update(**changes)
        return "status_updated"
    # Our send has not stored the wamid yet (the callback beat the provider's answer).
    raise DeliveryNotYet("no outbound message with this provider id yet")


def _read_watermark_apply(channel: Channel, payload: dict) -> str:
    """Messenger's read receipt names no message: everything we sent the person up to the
    watermark has been read."""
    at = from_milliseconds(payload.get("watermark_ms"), timezone.now())
    read = Message.objects.for_org(channel.organization).filter(
        conversation__in=Conversation.objects.filter(
            channel=channel, contact_id=contact_key(as_text(payload.get("contact_id")))
        ).values("pk"),
        direction=Direction.OUTBOUND, sent_at__lte=at,
        status_rank__lt=STATUS_RANK[MessageStatus.READ],
    ).update(status=MessageStatus.READ, status_rank=STATUS_RANK[MessageStatus.READ], read_at=at,
             delivered_at=Coalesce(F("delivered_at"), Value(at, output_field=DateTimeField())))
    return "status_updated" if read else "status_stale"
