"""Storing a provider's webhook before anything acts on it.

Each provider's endpoint verifies the signature over the raw body, then records the event
here: one ``WebhookDelivery`` per (provider, event id), arbitrated by the unique constraint
(a check-then-insert would let two simultaneous deliveries both through). A re-delivery finds
the first row and the endpoint answers 200 without doing anything again.
"""

from django.db import IntegrityError, transaction

from flexoraa.models import WebhookDelivery

EVENT_ID_MAX = WebhookDelivery._meta.get_field("event_id").max_length
EVENT_TYPE_MAX = WebhookDelivery._meta.get_field("event_type").max_length


def webhook_delivery_record(
    *, provider: str, event_id: str, event_type: str, payload, organization=None
) -> tuple[WebhookDelivery, bool]:
    """``(delivery, created)``: the stored event, and False when it was stored before.

    Raises ``ValueError`` for an empty or over-long event id (the endpoint answers 400 first).
    """
    if not event_id or len(event_id) > EVENT_ID_MAX:
        raise ValueError(f"event_id must be 1 to {EVENT_ID_MAX} characters")
    try:
        # A savepoint, so a duplicate leaves the caller's transaction usable.
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                provider=provider, event_id=event_id,
                event_type=(event_type or "")[:EVENT_TYPE_MAX], payload=payload,
                organization=organization,
            )
    except IntegrityError:
        found = WebhookDelivery.objects.filter(provider=provider, event_id=event_id).first()
        if found is None:  # the error was something other than the duplicate
            raise
        return found, False
    return delivery, True
