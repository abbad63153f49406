"""POST /webhooks/razorpay/: Razorpay's adapter to the one webhook inbox
(``flexoraa.webhooks``).

The signature is checked over the raw body before anything is stored; the event is stored
once per X-Razorpay-Event-Id and processed after the answer, which comes within milliseconds
(Razorpay waits 5 s); a re-delivery is a 200 that changes nothing.
"""

import logging

from billing import services
from billing.errors import PaymentRefused
from billing.providers import razorpay as provider
from flexoraa.webhooks.adapters import (
    ReceivedBody,
    WebhookAdapter,
    WebhookEvent,
    WebhookRefused,
)
from flexoraa.webhooks.endpoint import webhook_view
from flexoraa.webhooks.services import EVENT_ID_MAX

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"


class RazorpayAdapter(WebhookAdapter):
    provider = "razorpay"
    # Razorpay retries for a day; a payment event is worth more tries than a chat status.
    max_attempts = 10

    def verify(self, request, raw_body: bytes) -> None:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise WebhookRefused(status=400, code="signature_missing",
                                 message=f"The {SIGNATURE_HEADER} header is missing.")
        try:
            provider.webhook_signature_verify(raw_body=raw_body, signature=signature)
        except PaymentRefused as refused:
            logger.warning("razorpay webhook signature refused")
            raise WebhookRefused(status=400, code="signature_invalid",
                                 message=refused.message) from refused

    def events(self, request, body: dict) -> list[WebhookEvent]:
        event_id = request.headers.get(EVENT_ID_HEADER, "").strip()
        if not event_id or len(event_id) > EVENT_ID_MAX:
            raise WebhookRefused(
                status=400, code="event_id_missing",
                message=f"The {EVENT_ID_HEADER} header must hold the event id (1 to "
                        f"{EVENT_ID_MAX} characters).")
        event_type = body.get("event") if isinstance(body.get("event"), str) else ""
        # The tenant is learned from the order when the event is applied, never from the body.
        return [WebhookEvent(event_id=event_id, event_type=event_type, payload=body)]

    def apply(self, delivery) -> str:
        return services.razorpay_event_apply(delivery)

    def respond(self, received: ReceivedBody) -> dict:
        (event,) = received.events
        return {"received": True, "duplicate": event.event_id not in received.new_event_ids,
                "event_id": event.event_id}


ADAPTER = RazorpayAdapter()
razorpay_webhook = webhook_view(ADAPTER)
