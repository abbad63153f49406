"""The one view every provider's webhook address is: the request read within its limits,
verified by the provider's adapter, split into events, each cleaned of what the database
cannot store and stored once, and a 200 within milliseconds.

This is the hot path (benchmarked against a plain one-INSERT view), so it stays plain: no
DRF, no serializers, no per-event queries.

What the provider gets back:
- 405 for a method the address does not take (GET only where the adapter answers it);
- 415 for a body that is not ``application/json``;
- what the adapter refuses with (a missing or wrong signature, a body for another address);
- 400 ``malformed_json`` / ``too_deep`` for a body that is not JSON, or nests deeper than any
  real payload (``flexoraa.jsonsafe``);
- 200 otherwise, also for a re-delivery (it changes nothing). An event whose text the database
  cannot take as it is (NUL, an unpaired surrogate) is stored with those characters replaced
  and marked ``sanitized``: a provider retries a failed body for days, so refusing one event
  would cost every other event of that body.
(Oversized bodies never get here: ``RequestBodyLimitMiddleware`` answers 413 first.)
"""

import logging
from dataclasses import replace

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from flexoraa.jsonsafe import JsonRejected, json_clean, json_parse
from flexoraa.responses import error_response
from flexoraa.webhooks.adapters import ReceivedBody, WebhookAdapter, WebhookRefused
from flexoraa.webhooks.services import EVENT_ID_MAX, deliveries_store

logger = logging.getLogger(__name__)


def _is_json(request) -> bool:
    media_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _refusal(refused: WebhookRefused):
    return error_response(status=refused.status, code=refused.code, message=refused.message,
                          fields=refused.fields)


def _receive(adapter: WebhookAdapter, request):
    if not _is_json(request):
        return error_response(
            status=415, code="unsupported_media_type",
            message="Webhook bodies must be sent as application/json.")
    raw_body = request.body
    try:
        adapter.verify(request, raw_body)
        try:
            body = json_parse(raw_body)
        except JsonRejected as rejected:
            return error_response(status=400, code=rejected.code, message=rejected.message)
        if not isinstance(body, dict):
            return error_response(status=400, code="malformed_json",
                                  message="The body is not a JSON object.")
        events = adapter.events(request, body)
    except WebhookRefused as refused:
        return _refusal(refused)
    rows, seen = [], set()
    for event in events:
        if event.acknowledge_only:
            continue
        event_id, id_changed = json_clean(event.event_id)
        if not event_id or len(event_id) > EVENT_ID_MAX:
            logger.warning("webhook event without a usable id",
                           extra={"provider": adapter.provider, "event_type": event.event_type})
            continue
        if event_id in seen:  # the same event twice in one body is one event
            continue
        seen.add(event_id)
        payload, payload_changed = json_clean(event.payload)
        event_type, type_changed = json_clean(event.event_type)
        sanitized = id_changed or payload_changed or type_changed
        if sanitized:
            logger.warning("webhook event had characters the database cannot store",
                           extra={"provider": adapter.provider})
            event = replace(event, event_id=event_id, event_type=event_type, payload=payload)
        rows.append((event, sanitized))
    new = deliveries_store(provider=adapter.provider, events=rows) if rows else {}
    return JsonResponse(adapter.respond(ReceivedBody(events=events, new_event_ids=set(new))))


def webhook_view(adapter: WebhookAdapter):
    """The Django view for ``adapter``'s address."""

    @csrf_exempt  # providers sign their requests; they have no CSRF token to send
    def view(request):
        if request.method == "POST":
            return _receive(adapter, request)
        if request.method == "GET":
            answer = adapter.handle_get(request)
            if answer is not None:
                return answer
        allowed = "GET, POST" if type(adapter).handle_get is not WebhookAdapter.handle_get \
            else "POST"
        response = error_response(
            status=405, code="method_not_allowed",
            message=f"This address takes {adapter.provider} webhooks by {allowed}.")
        response["Allow"] = allowed
        return response

    view.__name__ = f"{adapter.provider}_webhook"
    return view
