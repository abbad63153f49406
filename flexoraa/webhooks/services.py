"""The whole life of a provider's webhook delivery, the same for every provider.

verify → store once → queue → process each row once, in its own transaction under its row
lock → processed, or a transient failure (pending again after a growing wait), or a
permanent one (failed, kept with its error, replayable from the console) → the redrive
queues what was never processed.

Storing is one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the unique
(provider, event_id) decides duplicates, even between simultaneous deliveries, with no
check-then-insert. Queueing goes through one per-process batcher (a Celery publish per
request costs more CPU than the rest of the request); the rows are the truth, so ids lost with
a process or a broker are found again by the redrive, every minute, for rows older than
``REDRIVE_AFTER``.
"""

import logging
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.batching import IdBatcher
from flexoraa.models import DeliveryState, WebhookDelivery
from flexoraa.services import audit_event_record
from flexoraa.webhooks.adapters import (
    DeliveryDuplicate,
    DeliveryMalformed,
    DeliveryNotYet,
    WebhookEvent,
    adapter_for,
)

logger = logging.getLogger(__name__)

EVENT_ID_MAX = WebhookDelivery._meta.get_field("event_id").max_length
EVENT_TYPE_MAX = WebhookDelivery._meta.get_field("event_type").max_length
LAST_ERROR_MAX = WebhookDelivery._meta.get_field("last_error").max_length
OUTCOME_MAX = WebhookDelivery._meta.get_field("outcome").max_length
IDS_PER_TASK = 100
# Keeps one statement's parameters well under SQLite's limit on a very large body.
ROWS_PER_INSERT = 500
# A row still pending this long after it arrived was lost on the way to the broker (or is
# waiting out a failure): the redrive, every minute, queues it again.
REDRIVE_AFTER = timedelta(seconds=30)
REDRIVE_BATCH = 1000
# A row the redrive queued is not queued again for this long, so a long queue behind a flood
# is not doubled every minute while its rows wait their turn.
REQUEUE_GAP = timedelta(minutes=2)
# Waits after failures: 30 s, 1 min, 2 min … at most an hour.
FIRST_RETRY_WAIT = timedelta(seconds=30)
LONGEST_RETRY_WAIT = timedelta(hours=1)
# A lost connection, a lock timeout or a deadlock victim.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


# --- storing (the endpoint) ------------------------------------------------------------------

_COLUMNS = ("provider", "event_id", "event_type", "organization_id", "payload", "sanitized",
            "state", "received_at", "attempts", "outcome", "last_error")


def _insert_sql(rows: int) -> str:
    quote = connection.ops.quote_name
    placeholders = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    # Only our own table and column names, quoted by the backend, go into the text; every
    # value travels as a parameter.
    return (
        f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(column) for column in _COLUMNS)}) "
        f"VALUES {', '.join([placeholders] * rows)} "
        f"ON CONFLICT ({quote('provider')}, {quote('event_id')}) DO NOTHING "
        f"RETURNING {quote('id')}, {quote('event_id')}"
    )


def deliveries_store(
    *, provider: str, events: list[tuple[WebhookEvent, bool]]
) -> dict[str, int]:
    """Store ``(event, sanitized)`` pairs once each and queue the new rows' processing after
    commit. Returns event id -> row id for the new rows; an event stored before (a
    re-delivery, or the same event racing in on another connection) is not in it.

    Event ids must be 1 to ``EVENT_ID_MAX`` characters, and unique within the list.
    """
    payload_field = WebhookDelivery._meta.get_field("payload")
    received_at = WebhookDelivery._meta.get_field("received_at").get_db_prep_save(
        timezone.now(), connection)
    new: dict[str, int] = {}
    # One statement is a transaction of its own in autocommit, and on_commit then runs right
    # after it; BEGIN and COMMIT around it would only add two round trips to the hot path. A
    # body too large for one statement is wrapped, so it is stored whole or not at all.
    with transaction.atomic() if len(events) > ROWS_PER_INSERT else nullcontext():
        with connection.cursor() as cursor:
            for start in range(0, len(events), ROWS_PER_INSERT):
                chunk = events[start:start + ROWS_PER_INSERT]
                params: list = []
                for event, sanitized in chunk:
                    params += [provider, event.event_id, event.event_type[:EVENT_TYPE_MAX],
                               event.organization_id,
                               payload_field.get_db_prep_save(event.payload, connection),
                               sanitized, DeliveryState.PENDING, received_at, 0, "", ""]
                cursor.execute(_insert_sql(len(chunk)), params)
                new.update({event_id: pk for pk, event_id in cursor.fetchall()})
        if new:
            ids = list(new.values())
            transaction.on_commit(lambda: deliveries_enqueue(ids))
    return new


# --- queueing --------------------------------------------------------------------------------

def _publish(delivery_ids: list[int]) -> None:
    from flexoraa.tasks import process_webhook_deliveries  # the tasks module imports this one

    process_webhook_deliveries.delay(list(delivery_ids))


def _enqueue_interval() -> float:
    from flexoraa.celery import app

    # Eager tasks (tests, one-process tools) run in the caller's thread, right away.
    return 0.0 if app.conf.task_always_eager else settings.WEBHOOK_ENQUEUE_INTERVAL_SECONDS


_batcher = IdBatcher("webhook-deliveries", _publish, interval=_enqueue_interval,
                     batch_size=IDS_PER_TASK)


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue the deliveries' processing (within WEBHOOK_ENQUEUE_INTERVAL_SECONDS). If the
    broker is down the batcher tries again; if the process dies first, the rows stay pending
    and the redrive queues them; the provider has had its 200 either way."""
    _batcher.add(list(delivery_ids))


def deliveries_enqueue_flush() -> int:
    """Queue what the batcher holds now (tests, and shutdown)."""
    return _batcher.flush()


def deliveries_redrive(*, now: datetime | None = None) -> dict:
    """Queue again the pending deliveries older than ``REDRIVE_AFTER`` whose wait is over
    (lost on the way to the broker, or waiting out a failure). Safe beside a queued copy:
    processing is once per row."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, received_at__lt=now - REDRIVE_AFTER)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("received_at").values_list("pk", flat=True)[:REDRIVE_BATCH])
    if due:
        WebhookDelivery.objects.filter(pk__in=due).update(next_attempt_at=now + REQUEUE_GAP)
        for start in range(0, len(due), IDS_PER_TASK):
            _batcher.send_now(due[start:start + IDS_PER_TASK])
    failed = WebhookDelivery.objects.filter(state=DeliveryState.FAILED).count()
    if failed:
        logger.error("webhook deliveries failed and wait for a person", extra={"count": failed})
    return {"queued": len(due), "failed": failed}


# --- processing ------------------------------------------------------------------------------

def retry_wait(attempts: int) -> timedelta:
    """How long a delivery waits after its ``attempts``-th failure."""
    doublings = min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY_WAIT * (2 ** doublings), LONGEST_RETRY_WAIT)


def deliveries_process(*, delivery_ids) -> dict:
    """Process each delivery once, each in its own transaction with its row locked; one
    already processed or failed is skipped. Returns counts by outcome.

    Raises the database's own errors only when even recording a failure fails (the database
    is gone): the task then retries the whole list, and processed rows are skipped.
    """
    counts: Counter = Counter()
    # Ascending ids: two workers holding overlapping lists take the row locks in one order.
    for delivery_id in sorted({int(pk) for pk in delivery_ids}):
        counts[delivery_process(delivery_id=delivery_id)] += 1
    return dict(counts)


def delivery_process(*, delivery_id: int) -> str:
    """Process one delivery (see ``deliveries_process``); returns its outcome as a word."""
    try:
        with transaction.atomic():
            delivery = (WebhookDelivery.objects.select_for_update(no_key=True)
                        .filter(pk=delivery_id).first())
            if delivery is None:
                return "missing"
            if delivery.state != DeliveryState.PENDING:
                return f"already_{delivery.state}"
            adapter = adapter_for(delivery.provider)
            if adapter is None:
                raise DeliveryMalformed(f"no adapter handles provider {delivery.provider!r}")
            outcome = adapter.apply(delivery) or "processed"
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                state=DeliveryState.PROCESSED, processed_at=timezone.now(),
                attempts=F("attempts") + 1, outcome=outcome[:OUTCOME_MAX], last_error="",
                next_attempt_at=None, organization_id=delivery.organization_id)
            return outcome
    except DeliveryDuplicate:
        WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING).update(
            state=DeliveryState.PROCESSED, processed_at=timezone.now(),
            attempts=F("attempts") + 1, outcome="duplicate", last_error="",
            next_attempt_at=None)
        return "duplicate"
    except DeliveryMalformed as malformed:
        logger.warning("webhook delivery malformed", extra={"delivery_id": delivery_id})
        _failure_record(delivery_id, f"malformed: {malformed}", permanent=True)
        return "malformed"
    except DeliveryNotYet as waiting:
        _failure_record(delivery_id, f"waiting: {waiting}")
        return "waiting"
    except Exception as exc:
        # The type only in the log: an error's text can quote a person's data.
        logger.error("webhook delivery failed",
                     extra={"delivery_id": delivery_id, "error": type(exc).__name__})
        _failure_record(delivery_id, f"{type(exc).__name__}: {exc}")
        return "failed"


def _failure_record(delivery_id: int, error: str, *, permanent: bool = False) -> None:
    """Count the failure. A transient one waits longer each time and, past the adapter's
    ``max_attempts``, becomes permanent: failed, kept for a person."""
    delivery = (WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
                .values("provider", "attempts").first())
    if delivery is None:
        return
    attempts = delivery["attempts"] + 1
    adapter = adapter_for(delivery["provider"])
    max_attempts = adapter.max_attempts if adapter is not None else 1
    changes = {"attempts": attempts, "last_error": error[:LAST_ERROR_MAX]}
    if permanent or attempts >= max_attempts:
        changes.update(state=DeliveryState.FAILED, next_attempt_at=None,
                       outcome="malformed" if permanent else "gave_up")
        if not permanent:
            logger.error("webhook delivery gave up",
                         extra={"delivery_id": delivery_id, "attempts": attempts})
    else:
        changes["next_attempt_at"] = timezone.now() + retry_wait(attempts)
    WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING).update(**changes)


# --- the console -----------------------------------------------------------------------------

def deliveries_replay(*, deliveries, actor: Actor) -> int:
    """Put failed deliveries back to pending with a fresh count of attempts and queue them
    now; each tenant's audit log records the replay. Returns how many were replayed."""
    with transaction.atomic():
        rows = list(WebhookDelivery.objects.select_for_update(no_key=True, of=("self",))
                    .select_related("organization")
                    .filter(pk__in=[delivery.pk for delivery in deliveries],
                            state=DeliveryState.FAILED).order_by("pk"))
        if not rows:
            return 0
        ids = [row.pk for row in rows]
        WebhookDelivery.objects.filter(pk__in=ids).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=None, outcome="",
            last_error="")
        for row in rows:
            if row.organization is not None:
                audit_event_record(org=row.organization, actor=actor,
                                   action="webhook_delivery.replayed", target=row,
                                   data={"provider": row.provider})
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    return len(ids)
