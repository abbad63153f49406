"""A local Meta Graph API: WhatsApp Cloud API sends, Messenger / Instagram sends, and the
signed status webhooks that follow them (shared/PROVIDER_CONTRACTS.md §2a, §2b).

Routes (each needs ``Authorization: Bearer <any non-empty token>``, as Graph does):

    POST /graph/<version>/<phone_number_id>/messages   WhatsApp: type text or template
    POST /graph/<version>/me/messages                  Messenger / Instagram, as the page
    POST /graph/<version>/<page_or_ig_id>/messages     Messenger / Instagram
    POST /graph/_sandbox/inbound                       control: {channel_id, contact[, at]}
    GET  /graph/_sandbox/sent                          control: what was sent so far

Answers are Graph's: ``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid.…"}]}`` for WhatsApp, ``{"recipient_id", "message_id"}`` for
Messenger / Instagram; errors ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``.

The windows. The sandbox cannot see the app's inbound webhooks, so it knows a recipient's
last message only when told (``inbound()`` or the control route). A recipient it knows about
whose last message is over 24 hours old gets WhatsApp's 131047 "Re-engagement message" for
free text, and Messenger's (#10) / 2018278 outside the allowed window (7 days with the
HUMAN_AGENT tag). A recipient it knows nothing about counts as open, unless
``strict_windows`` is set, which makes it closed. Real WhatsApp reports 131047 in a failed
status webhook after accepting the send; the sandbox answers it at once, which the app maps
the same way.

When ``webhook_urls`` names the app's endpoints by kind (whatsapp / messenger / instagram),
each accepted send is followed by status webhooks (WhatsApp: sent, delivered, read;
Messenger: delivery, read; Instagram: read), signed with ``X-Hub-Signature-256`` =
HMAC-SHA256(app secret, exact body bytes) and POSTed from a background thread. Bodies and
signature come from ``agents/meta_payloads.py``, the module the app's endpoints verify with,
so the sandbox cannot drift from the format the app accepts.
"""

import json
import re
import secrets
import threading
import time
from base64 import urlsafe_b64encode

from agents.meta_payloads import (
    SIGNATURE_HEADER,
    instagram_seen_payload,
    messenger_delivery_payload,
    messenger_read_payload,
    meta_signature,
    whatsapp_status_payload,
)
from sandbox.outbox import WebhookOutbox, WebhookSender
from sandbox.razorpay import SandboxResponse

WINDOW_SECONDS = 24 * 3600
HUMAN_AGENT_SECONDS = 7 * 24 * 3600
TEXT_LIMITS = {"whatsapp": 4096, "messenger": 2000, "instagram": 1000}
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
SEND_PATH = re.compile(r"/graph/v\d+(?:\.\d+)?/([\w.]+)/messages")


class GraphError(Exception):
    def __init__(self, message: str, *, status: int = 400, code: int = 100, subcode=None,
                 type_: str = "OAuthException"):
        super().__init__(message)
        self.message, self.status, self.code, self.subcode, self.type = (
            message, status, code, subcode, type_)

    def response(self) -> SandboxResponse:
        error = {"message": self.message, "type": self.type, "code": self.code,
                 "fbtrace_id": secrets.token_urlsafe(12)}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return SandboxResponse.json({"error": error}, status=self.status)


def _wamid() -> str:
    return "wamid." + urlsafe_b64encode(secrets.token_bytes(30)).decode().rstrip("=")


class MetaSandbox(WebhookSender):
    def __init__(self, app_secret: str, webhook_urls: dict | None = None, *,
                 strict_windows: bool = False):
        self.app_secret = app_secret
        self.webhook_urls = dict(webhook_urls or {})
        self.strict_windows = strict_windows
        self._lock = threading.RLock()
        self._outbox = WebhookOutbox("meta", self._delivery_record)
        self.reset()

    def reset(self) -> None:
        """Forget what was sent, the known inbound times, kinds and injected trouble."""
        with self._lock:
            # A request still in flight across a reset (a delayed one) must not leak into
            # the next test's record.
            self._generation = getattr(self, "_generation", 0) + 1
            self._sent: list[dict] = []
            self._inbound: dict[tuple[str, str], float] = {}
            self._kinds: dict[str, str] = {}
            # Injected trouble, one item per coming send, in the order it was asked for.
            self._trouble_queue: list[GraphError | float] = []
            self.deliveries: list[dict] = []

    # --- what tests tell it and read from it -------------------------------------------------

    def inbound(self, channel_id: str, contact: str, at: float | None = None) -> None:
        """``contact`` wrote to ``channel_id`` at unix time ``at`` (default: now)."""
        with self._lock:
            self._inbound[(str(channel_id), str(contact))] = time.time() if at is None else at

    def channel_kind(self, channel_id: str, kind: str) -> None:
        """Say a page-style id is an Instagram account (ids are Messenger pages otherwise)."""
        with self._lock:
            self._kinds[str(channel_id)] = kind

    def sent(self) -> list[dict]:
        """Every accepted send: ``{kind, channel_id, token, body, message_id}``."""
        with self._lock:
            return [dict(record) for record in self._sent]

    def fail_next(self, status: int = 500, code: int = 2, *, subcode=None,
                  message: str = "") -> None:
        """A coming send (the next one not already given trouble) is answered with this
        Graph error."""
        with self._lock:
            self._trouble_queue.append(GraphError(
                message or ("Service temporarily unavailable" if status >= 500
                            else "Invalid parameter"),
                status=status, code=code, subcode=subcode,
            ))

    def delay_next(self, seconds: float) -> None:
        """A coming send (the next one not already given trouble) is answered, normally,
        only after this many seconds."""
        with self._lock:
            self._trouble_queue.append(float(seconds))

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> SandboxResponse:
        """Answer one HTTP request. ``headers`` have lower-case names."""
        path = path.split("?", 1)[0]
        generation = self._generation
        try:
            if path.startswith("/graph/_sandbox/"):
                return self._control(method, path, body)
            match = SEND_PATH.fullmatch(path)
            if match is None or method != "POST":
                raise GraphError("Unsupported request - method type: "
                                 f"{method.lower()}", code=100, subcode=33)
            token = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not token or not headers.get("authorization", "").startswith("Bearer "):
                raise GraphError("An active access token must be used to query information "
                                 "about the current user.", status=401, code=2500)
            self._trouble()
            data = _json(body)
            node = match[1]
            # The same route serves both: WhatsApp bodies name their messaging product,
            # Messenger / Instagram bodies a recipient.
            if "recipient" in data and "messaging_product" not in data:
                return SandboxResponse.json(self._page(node, token, data, generation))
            return SandboxResponse.json(self._whatsapp(node, token, data, generation))
        except GraphError as error:
            return error.response()

    def _control(self, method: str, path: str, body: bytes) -> SandboxResponse:
        if (method, path) == ("POST", "/graph/_sandbox/inbound"):
            data = _json(body)
            if not data.get("channel_id") or not data.get("contact"):
                raise GraphError("channel_id and contact are required.")
            self.inbound(data["channel_id"], data["contact"], data.get("at"))
            return SandboxResponse.json({"success": True})
        if (method, path) == ("GET", "/graph/_sandbox/sent"):
            return SandboxResponse.json({"sent": self.sent(), "deliveries": self.deliveries})
        raise GraphError("Unknown path components: " + path, code=2500)

    def _trouble(self) -> None:
        with self._lock:
            trouble = self._trouble_queue.pop(0) if self._trouble_queue else None
        if isinstance(trouble, GraphError):
            raise trouble
        if trouble:
            time.sleep(trouble)

    def _last_inbound(self, channel_id: str, contact: str) -> float | None:
        with self._lock:
            return self._inbound.get((channel_id, contact))

    def _closed(self, channel_id: str, contact: str, seconds: int) -> bool:
        last = self._last_inbound(channel_id, contact)
        if last is None:
            return self.strict_windows
        return time.time() >= last + seconds

    # --- WhatsApp ---------------------------------------------------------------------------

    def _whatsapp(self, phone_number_id: str, token: str, data: dict, generation: int) -> dict:
        if data.get("messaging_product") != "whatsapp":
            raise GraphError("(#100) The parameter messaging_product is required.")
        to = str(data.get("to") or "")
        wa_id = to.lstrip("+")
        if not wa_id.isdigit():
            raise GraphError("(#100) Invalid parameter: to", code=100)
        kind = data.get("type", "text")
        if kind == "text":
            text = (data.get("text") or {}).get("body")
            if not isinstance(text, str) or not text:
                raise GraphError("(#100) The parameter text['body'] is required.")
            if len(text) > TEXT_LIMITS["whatsapp"]:
                raise GraphError("(#100) Param text['body'] must be at most 4096 characters "
                                 "long.")
            if self._closed(phone_number_id, wa_id, WINDOW_SECONDS):
                raise GraphError(
                    "(#131047) Re-engagement message: more than 24 hours have passed since "
                    "the recipient last replied to the sender number.",
                    code=131047, subcode=2494010,
                )
        elif kind == "template":
            _template_check(data.get("template"))
        else:
            raise GraphError(f"(#100) The sandbox does not send type '{kind}'.")
        message_id = _wamid()
        url = self._record("whatsapp", phone_number_id, token, data, message_id, generation)
        if url:
            for status in ("sent", "delivered", "read"):
                self._queue(url, whatsapp_status_payload(
                    phone_number_id, message_id, status, time.time(), wa_id,
                    biz_opaque_callback_data=data.get("biz_opaque_callback_data") or ""))
        return {"messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [{"id": message_id}]}

    # --- Messenger / Instagram --------------------------------------------------------------

    def _page(self, node: str, token: str, data: dict, generation: int) -> dict:
        kind = self._kinds.get(node, "messenger")
        recipient = str((data.get("recipient") or {}).get("id") or "")
        if not recipient:
            raise GraphError("(#100) The parameter recipient is required")
        text = (data.get("message") or {}).get("text")
        if not isinstance(text, str) or not text:
            raise GraphError("(#100) param message must be non-empty.")
        if len(text) > TEXT_LIMITS[kind]:
            raise GraphError(f"(#100) Length of param message[text] must be less than or "
                             f"equal to {TEXT_LIMITS[kind]}")
        messaging_type = data.get("messaging_type", "RESPONSE")
        if messaging_type not in MESSAGING_TYPES:
            raise GraphError("(#100) Param messaging_type must be one of {RESPONSE, UPDATE, "
                             "MESSAGE_TAG}")
        tag = data.get("tag", "")
        if messaging_type == "MESSAGE_TAG" and tag != "HUMAN_AGENT":
            raise GraphError("(#100) The sandbox accepts only the HUMAN_AGENT tag.")
        allowed = HUMAN_AGENT_SECONDS if tag == "HUMAN_AGENT" else WINDOW_SECONDS
        if self._closed(node, recipient, allowed):
            raise GraphError("(#10) This message is sent outside of allowed window.",
                             code=10, subcode=2018278)
        message_id = "m_" + secrets.token_urlsafe(24)
        url = self._record(kind, node, token, data, message_id, generation)
        if url:
            now_ms = int(time.time() * 1000)
            if kind == "instagram":
                receipts = [instagram_seen_payload(node, recipient, message_id, now_ms)]
            else:
                receipts = [messenger_delivery_payload(node, recipient, [message_id], now_ms),
                            messenger_read_payload(node, recipient, now_ms)]
            for receipt in receipts:
                self._queue(url, receipt)
        return {"recipient_id": recipient, "message_id": message_id}

    def _record(self, kind, channel_id, token, data, message_id, generation) -> str | None:
        """Keep the send; returns where its status webhooks go (None: nowhere)."""
        with self._lock:
            if generation != self._generation:
                return None
            self._sent.append({"kind": kind, "channel_id": channel_id, "token": token,
                               "body": data, "message_id": message_id})
            return self.webhook_urls.get(kind)

    # --- webhooks ---------------------------------------------------------------------------

    def _queue(self, url: str, payload: dict) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
                   SIGNATURE_HEADER: meta_signature(body, self.app_secret)}
        self._outbox.post(url, body, headers, {"url": url})



def _json(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise GraphError("(#100) The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise GraphError("(#100) The request body must be a JSON object.")
    return data


def _template_check(template) -> None:
    if not isinstance(template, dict) or not template.get("name"):
        raise GraphError("(#100) The parameter template['name'] is required.")
    language = template.get("language")
    if not isinstance(language, dict) or not language.get("code"):
        raise GraphError("(#100) The parameter template['language']['code'] is required.")
    for component in template.get("components") or []:
        if not isinstance(component, dict) or component.get("type") not in (
            "header", "body", "button"
        ):
            raise GraphError("(#100) Invalid parameter: template['components'][].type")
        for parameter in component.get("parameters") or []:
            if (not isinstance(parameter, dict) or parameter.get("type") != "text"
                    or not str(parameter.get("text") or "").strip()):
                raise GraphError("(#131008) Required parameter is missing: each parameter "
                                 "needs type text and a non-empty text.", code=131008)
