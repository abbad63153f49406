"""Meta's inbound events: storing them once as they arrive, and turning them into leads,
conversations, messages and message statuses afterwards.

The endpoints (``agents.webhooks``) store one ``WebhookDelivery`` per event and queue
``deliveries_process`` after commit. Each delivery is then processed in its own transaction
under its row lock, and marked processed in that same transaction, so a delivery queued
twice (a redrive beside a slow worker, a broker redelivery) acts once. Deliveries arrive out
of order: conversation times only move forward, and a message status only moves up its rank.
"""

import logging
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F, Value
from django.db.models.fields import DateTimeField
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.meta_events import (
    Inbound,
    MalformedEvent,
    as_dict,
    as_text,
    from_milliseconds,
    from_seconds,
    messaging_inbound,
    whatsapp_inbound,
)
from agents.models import (
    META_KINDS,
    STATUS_RANK,
    Channel,
    ChannelKind,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from agents.services.receiving import DuplicateMessage, Received, inbound_message_store
from flexoraa.batching import IdBatcher
from flexoraa.models import WebhookDelivery
from leads import services as lead_services
from leads.errors import InvalidContact

logger = logging.getLogger(__name__)

PROVIDERS = tuple(str(kind) for kind in META_KINDS)
MAX_ATTEMPTS = 5
REDRIVE_AFTER = timedelta(minutes=2)
REDRIVE_BATCH = 1000
IDS_PER_TASK = 100
# Keeps one statement's parameters well under SQLite's limit on a very large batch.
ROWS_PER_INSERT = 500
# A lost connection, a lock timeout or a deadlock victim: worth another try at once.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
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
LAST_ERROR_MAX = WebhookDelivery._meta.get_field("last_error").max_length


class _NotYet(Exception):
    """The event refers to something we have not stored yet; the redrive tries again."""


class _Duplicate(Exception):
    """The message was stored meanwhile under another delivery row; this one changes
    nothing."""


# --- storing (the webhook endpoints) ---------------------------------------------------------

def _insert_sql(rows: int) -> str:
    quote = connection.ops.quote_name
    columns = ("provider", "event_id", "event_type", "organization_id", "payload",
               "received_at", "attempts", "last_error")
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Only our own table and column names, quoted by the backend, go into the text; every
    # value travels as a parameter.
    return (
        f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(column) for column in columns)}) "
        f"VALUES {', '.join([placeholders] * rows)} "
        f"ON CONFLICT ({quote('provider')}, {quote('event_id')}) DO NOTHING "
        f"RETURNING {quote('id')}"
    )


def deliveries_store(*, provider: str, events: list[tuple[str, int, str, dict]]) -> list[int]:
    """Store ``(event id, organization id, event type, payload)`` rows once each and queue
    the new ones' processing after commit. Returns the new rows' ids; an event stored before
    (a re-delivery, or the same event racing in on another connection) returns nothing: the
    unique (provider, event_id) arbitrates, no check-then-insert."""
    payload_field = WebhookDelivery._meta.get_field("payload")
    received_at = WebhookDelivery._meta.get_field("received_at").get_db_prep_save(
        timezone.now(), connection)
    new_ids: list[int] = []
    # One statement is a transaction of its own in autocommit, and on_commit then runs right
    # after it; BEGIN and COMMIT around it would only add two round trips to the hot path. A
    # batch too large for one statement is wrapped, so it is stored whole or not at all.
    with transaction.atomic() if len(events) > ROWS_PER_INSERT else nullcontext():
        with connection.cursor() as cursor:
            for start in range(0, len(events), ROWS_PER_INSERT):
                chunk = events[start:start + ROWS_PER_INSERT]
                params: list = []
                for event_id, org_id, event_type, payload in chunk:
                    params += [provider, event_id, event_type, org_id,
                               payload_field.get_db_prep_save(payload, connection),
                               received_at, 0, ""]
                cursor.execute(_insert_sql(len(chunk)), params)
                new_ids += [row[0] for row in cursor.fetchall()]
        if new_ids:
            transaction.on_commit(lambda: deliveries_enqueue(new_ids))
    return new_ids


def _publish(delivery_ids: list[int]) -> None:
    from agents.tasks import process_meta_deliveries  # the tasks module imports services

    process_meta_deliveries.delay(list(delivery_ids))


def _enqueue_interval() -> float:
    from flexoraa.celery import app

    # Eager tasks (tests, one-process tools) run in the caller's thread, right away.
    return 0.0 if app.conf.task_always_eager else settings.WEBHOOK_ENQUEUE_INTERVAL_SECONDS


# New deliveries are queued in batches from a background thread, not a task per request.
_batcher = IdBatcher("meta-deliveries", _publish, interval=_enqueue_interval,
                     batch_size=IDS_PER_TASK)


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue the deliveries' processing (within WEBHOOK_ENQUEUE_INTERVAL_SECONDS). If the
    broker is down or the process dies first, the rows stay unprocessed and the redrive job
    queues them again; Meta has had its 200 and will not send them twice."""
    _batcher.add(list(delivery_ids))


def deliveries_enqueue_flush() -> int:
    """Queue what the batcher holds now (tests, and shutdown)."""
    return _batcher.flush()


def deliveries_redrive(*, now: datetime | None = None) -> dict:
    """Queue again the deliveries still unprocessed two minutes after they arrived (lost on
    the way to the broker, failed, or a status that came before its message's id was
    stored). Those that failed ``MAX_ATTEMPTS`` times are left for a person and counted in
    an error log. Safe beside a queued copy: processing is once per row."""
    now = now or timezone.now()
    stale = WebhookDelivery.objects.filter(
        provider__in=PROVIDERS, processed_at__isnull=True, received_at__lt=now - REDRIVE_AFTER)
    due = list(stale.filter(attempts__lt=MAX_ATTEMPTS).order_by("received_at")
               .values_list("pk", flat=True)[:REDRIVE_BATCH])
    given_up = stale.filter(attempts__gte=MAX_ATTEMPTS).count()
    if given_up:
        logger.error("meta deliveries keep failing", extra={"count": given_up})
    for start in range(0, len(due), IDS_PER_TASK):
        deliveries_enqueue(due[start:start + IDS_PER_TASK])
    return {"queued": len(due), "given_up": given_up}


# --- processing ------------------------------------------------------------------------------

def deliveries_process(*, delivery_ids) -> dict:
    """Process each stored Meta delivery once, each in its own transaction with its row
    locked; one already processed is skipped. Returns counts by outcome.

    A failure rolls that delivery's work back and is counted on its ``attempts`` and
    ``last_error`` (the redrive retries it); only transient database errors are re-raised,
    so the task retries them at once. A status for a message whose provider id we have not
    stored yet stays unprocessed with ``last_error`` set, for the redrive.
    """
    counts: Counter = Counter()
    # Ascending ids: two workers holding overlapping lists take the row locks in one order.
    for delivery_id in sorted({int(pk) for pk in delivery_ids}):
        counts[_delivery_process(delivery_id)] += 1
    return dict(counts)


def _delivery_process(delivery_id: int) -> str:
    try:
        with transaction.atomic():
            delivery = (WebhookDelivery.objects.select_for_update(no_key=True)
                        .filter(pk=delivery_id, provider__in=PROVIDERS).first())
            if delivery is None:
                return "missing"
            if delivery.processed_at is not None:
                return "already_processed"
            try:
                outcome, org_id = _delivery_apply(delivery)
                last_error = ""
            except MalformedEvent as malformed:
                outcome, org_id = "malformed", delivery.organization_id
                last_error = f"malformed: {malformed}"[:LAST_ERROR_MAX]
                logger.warning("malformed meta delivery", extra={"delivery_id": delivery_id})
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                processed_at=timezone.now(), attempts=F("attempts") + 1,
                last_error=last_error, organization_id=org_id)
            return outcome
    except _Duplicate:
        WebhookDelivery.objects.filter(pk=delivery_id, processed_at__isnull=True).update(
            processed_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
        return "duplicate"
    except _NotYet as waiting:
        _failure_record(delivery_id, f"waiting: {waiting}")
        return "waiting"
    except TRANSIENT_ERRORS as exc:
        _failure_record(delivery_id, f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        # The type only: an error's text can quote a person's data.
        logger.error("meta delivery failed",
                     extra={"delivery_id": delivery_id, "error": type(exc).__name__})
        _failure_record(delivery_id, f"{type(exc).__name__}: {exc}")
        return "failed"


def _failure_record(delivery_id: int, error: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, processed_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=error[:LAST_ERROR_MAX])


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

def _conversation_for(channel: Channel, inbound: Inbound) -> Conversation:
    """The person's conversation on this channel; created with its lead the first time the
    person writes. Not locked: the caller locks it after the lead (the order every
    lead-then-conversation writer takes, so none of them deadlock)."""
    org = channel.organization
    found = (Conversation.objects.for_org(org).select_related("lead")
             .filter(channel=channel, contact_id=inbound.contact_id))
    conversation = found.first()
    if conversation is not None:
        return conversation
    # Two first messages of a new person processed at once must make one lead, not two:
    # the channel's row lock lets one first contact through per channel at a time.
    Channel.objects.select_for_update(no_key=True).filter(pk=channel.pk).values_list(
        "pk", flat=True).first()
    conversation = found.first()
    if conversation is not None:
        return conversation
    lead = _lead_for(org, channel.kind, inbound)
    return Conversation.objects.create(
        organization=org, channel=channel, lead=lead, contact_id=inbound.contact_id,
        contact_name=inbound.contact_name, assignee=lead.owner,
    )


def _lead_for(org, source: str, inbound: Inbound):
    """A new lead (or, with a known phone, the tenant's existing one: intake merges)."""
    data = lead_services.LeadInput(name=inbound.contact_name, phone=inbound.phone)
    try:
        return lead_services.lead_intake(org=org, data=data, source=source,
                                         contact_required=bool(inbound.phone)).lead
    except InvalidContact:
        # A sender id that is not a dialable number still is a person writing to us: the
        # conversation finds the lead again, the message is not lost.
        data = lead_services.LeadInput(name=inbound.contact_name)
        return lead_services.lead_intake(org=org, data=data, source=source,
                                         contact_required=False).lead


def _message_apply(channel: Channel, inbound: Inbound) -> str:
    conversation = _conversation_for(channel, inbound)
    try:
        outcome, _message = inbound_message_store(
            channel=channel, conversation=conversation,
            received=Received(provider_message_id=inbound.provider_message_id, at=inbound.at,
                              kind=inbound.kind, body=inbound.body,
                              attachments=inbound.attachments,
                              contact_name=inbound.contact_name))
    except DuplicateMessage as exc:
        # Another delivery row of the same message won the race: undo this one's work.
        raise _Duplicate from exc
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
    raise _NotYet("no outbound message with this provider id yet")


def _read_watermark_apply(channel: Channel, payload: dict) -> str:
    """Messenger's read receipt names no message: everything we sent the person up to the
    watermark has been read."""
    at = from_milliseconds(payload.get("watermark_ms"), timezone.now())
    read = Message.objects.for_org(channel.organization).filter(
        conversation__in=Conversation.objects.filter(
            channel=channel, contact_id=as_text(payload.get("contact_id"))).values("pk"),
        direction=Direction.OUTBOUND, sent_at__lte=at,
        status_rank__lt=STATUS_RANK[MessageStatus.READ],
    ).update(status=MessageStatus.READ, status_rank=STATUS_RANK[MessageStatus.READ], read_at=at,
             delivered_at=Coalesce(F("delivered_at"), Value(at, output_field=DateTimeField())))
    return "status_updated" if read else "status_stale"
