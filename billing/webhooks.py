"""POST /webhooks/razorpay/: Razorpay's events, verified, stored once, processed later.

The signature is checked over the raw body before anything is stored; the event is stored
once per X-Razorpay-Event-Id and its processing queued after commit, so the answer comes
within milliseconds (Razorpay waits 5 s) and a re-delivery is a 200 that changes nothing.
"""

import json
import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing import services
from billing.errors import PaymentRefused
from billing.providers import razorpay as provider
from flexoraa.responses import error_response
from flexoraa.webhooks import EVENT_ID_MAX

logger = logging.getLogger(__name__)


@csrf_exempt  # Razorpay signs its requests; it has no CSRF token to send
def razorpay_webhook(request):
    if request.method != "POST":
        response = error_response(status=405, code="method_not_allowed",
                                  message="Razorpay webhooks are POSTed to this address.")
        response["Allow"] = "POST"
        return response
    raw_body = request.body
    signature = request.headers.get("X-Razorpay-Signature", "")
    if not signature:
        return error_response(status=400, code="signature_missing",
                              message="The X-Razorpay-Signature header is missing.")
    try:
        provider.webhook_signature_verify(raw_body=raw_body, signature=signature)
    except PaymentRefused as refused:
        logger.warning("razorpay webhook signature refused")
        return error_response(status=400, code="signature_invalid", message=refused.message)
    event_id = request.headers.get("X-Razorpay-Event-Id", "").strip()
    if not event_id or len(event_id) > EVENT_ID_MAX:
        return error_response(
            status=400, code="event_id_missing",
            message=f"The X-Razorpay-Event-Id header must hold the event id (1 to "
                    f"{EVENT_ID_MAX} characters).",
        )
    try:
        payload = json.loads(raw_body)
    except ValueError:
        return error_response(status=400, code="malformed_json",
                              message="The body is not JSON.")
    if not isinstance(payload, dict):
        return error_response(status=400, code="malformed_json",
                              message="The body is not a JSON object.")
    event_type = payload.get("event") if isinstance(payload.get("event"), str) else ""
    _delivery, created = services.razorpay_event_receive(
        event_id=event_id, event_type=event_type, payload=payload
    )
    return JsonResponse({"received": True, "duplicate": not created, "event_id": event_id})
