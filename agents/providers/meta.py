"""Meta's Graph API for sending: WhatsApp Cloud API and Messenger / Instagram (Send API).

Vendor errors become ours: a timeout, a lost connection, a 5xx or a rate limit is
``ProviderUnavailable`` (the send is retried); the closed customer-service window (WhatsApp
131047, Messenger / Instagram (#10) with subcode 2018278) is ``WindowClosed``; any other
refusal is ``ProviderRefused`` with Graph's code. Logs hold ids only, never the text.
"""

import logging

import requests
from django.conf import settings

from agents.errors import ProviderRefused, ProviderUnavailable, WindowClosed
from agents.window import HUMAN_AGENT_TAG

logger = logging.getLogger(__name__)

WINDOW_CLOSED_CODE = 131047
PAGE_WINDOW_CODE, PAGE_WINDOW_SUBCODE = 10, 2018278
# Throttling: Graph's app / business-use-case limits and WhatsApp's per-number limits.
RATE_LIMIT_CODES = {4, 17, 32, 613, 80007, 130429, 131056}
# Graph's "temporary" errors: an unknown server error and "service unavailable".
TEMPORARY_CODES = {1, 2}


def whatsapp_send_text(channel, to: str, body: str, client_id: str) -> str:
    """Free text (the window must be open). Returns the wamid."""
    payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
               "type": "text", "text": {"preview_url": False, "body": body},
               # Comes back on the status webhooks, so they can find the message by our id.
               "biz_opaque_callback_data": client_id}
    return _whatsapp_post(channel, payload)


def whatsapp_send_template(channel, to: str, template, params, client_id: str) -> str:
    """An approved template with its body parameters. Returns the wamid."""
    body_template = {"name": template.name, "language": {"code": template.language,
                                                          "policy": "deterministic"}}
    if params:
        body_template["components"] = [{
            "type": "body",
            "parameters": [{"type": "text", "text": str(value)} for value in params],
        }]
    payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
               "type": "template", "template": body_template,
               "biz_opaque_callback_data": client_id}
    return _whatsapp_post(channel, payload)


def page_send_text(channel, recipient_id: str, body: str, tag: str = "") -> str:
    """Messenger / Instagram text: a RESPONSE inside the 24 hours, or a human agent's reply
    tagged HUMAN_AGENT within 7 days. Returns the message id (mid)."""
    if tag and tag != HUMAN_AGENT_TAG:
        raise ProviderRefused("Only the HUMAN_AGENT tag is used.", provider_code="tag")
    payload = {"recipient": {"id": recipient_id}, "message": {"text": body}}
    if tag:
        payload.update(messaging_type="MESSAGE_TAG", tag=tag)
    else:
        payload["messaging_type"] = "RESPONSE"
    data = _post(channel, f"{channel.external_id}/messages", payload)
    message_id = data.get("message_id")
    if not message_id:
        raise ProviderUnavailable("Graph answered without a message id.")
    return message_id


def _whatsapp_post(channel, payload: dict) -> str:
    data = _post(channel, f"{channel.external_id}/messages", payload)
    try:
        return data["messages"][0]["id"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProviderUnavailable("Graph answered without a message id.") from exc


def _post(channel, path: str, payload: dict) -> dict:
    url = f"{settings.META_GRAPH_URL.rstrip('/')}/{path}"
    try:
        response = requests.post(
            url, json=payload, timeout=settings.PROVIDER_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {channel.access_token}"},
        )
    except requests.Timeout as exc:
        logger.warning("graph send timed out", extra={"channel_id": channel.pk})
        raise ProviderUnavailable("Meta did not answer in time.") from exc
    except requests.RequestException as exc:
        logger.warning("graph send failed to connect", extra={"channel_id": channel.pk})
        raise ProviderUnavailable("Could not reach Meta.") from exc
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if response.status_code < 300:
        return data
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    code, subcode = error.get("code"), error.get("error_subcode")
    message = str(error.get("message") or f"HTTP {response.status_code}")[:300]
    logger.warning("graph send refused", extra={"channel_id": channel.pk,
                                                 "status": response.status_code,
                                                 "code": code, "subcode": subcode,
                                                 "fbtrace_id": error.get("fbtrace_id")})
    if code == WINDOW_CLOSED_CODE or (code, subcode) == (PAGE_WINDOW_CODE,
                                                           PAGE_WINDOW_SUBCODE):
        raise WindowClosed(f"Window closed: Meta refused the message ({code}): {message}",
                           extra={"provider_code": str(code)})
    if (response.status_code >= 500 or response.status_code == 429
            or code in RATE_LIMIT_CODES or code in TEMPORARY_CODES):
        raise ProviderUnavailable(f"Meta is unavailable ({code or response.status_code}).")
    raise ProviderRefused(f"Meta refused the message ({code}): {message}",
                          provider_code=str(code if code is not None
                                            else response.status_code))
