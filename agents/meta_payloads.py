"""Meta's webhook bodies and their signature, in the shapes Meta documents.

The endpoints verify with ``meta_signature_valid``; the provider sandbox, ``simulate_leads``
and the tests build bodies with the builders here, so what we send ourselves and what we
accept are the same contract (PROVIDER_CONTRACTS.md 2a, 2b):

- WhatsApp: ``{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>,
  "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id"}, "contacts",
  "messages" | "statuses"}}]}]}``, timestamps in unix **seconds**, as strings.
- Messenger / Instagram: ``{"object": "page" | "instagram", "entry": [{"id", "time",
  "messaging": [{"sender", "recipient", "timestamp", "message": {"mid", "text"}}]}]}``,
  timestamps in epoch **milliseconds**, as numbers.
"""

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
# Meta's own sample WhatsApp Business Account id; the entry id is not how we find a tenant.
SAMPLE_WABA_ID = "102290129340398"

WHATSAPP_OBJECT = "whatsapp_business_account"
INSTAGRAM_OBJECT = "instagram"
MESSENGER_OBJECT = "page"


# --- the signature ---------------------------------------------------------------------------

def meta_signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``: HMAC-SHA256 over the raw bytes with
    the app secret, as ``sha256=<lowercase hex>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def meta_signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` signs exactly these bytes. Compared in constant time; the body is
    never re-serialised (Meta signs the escaped form it sent)."""
    if not header or not secret or not isinstance(body, bytes | bytearray):
        return False
    expected = meta_signature(bytes(body), secret).encode()
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a forged header may be
    # anything. Hex is case-insensitive, Meta sends it lowercase.
    given = header.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


# --- timestamps ------------------------------------------------------------------------------

def _seconds(timestamp) -> str:
    if isinstance(timestamp, datetime):
        return str(int(timestamp.timestamp()))
    return str(int(timestamp))


def _milliseconds(timestamp) -> int:
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp() * 1000)
    return int(timestamp)


# --- WhatsApp --------------------------------------------------------------------------------

def _whatsapp_body(phone_number_id: str, value: dict, waba_id: str) -> dict:
    metadata = {"display_phone_number": "15550783881", "phone_number_id": str(phone_number_id)}
    return {
        "object": WHATSAPP_OBJECT,
        "entry": [{
            "id": waba_id,
            "changes": [{
                "field": "messages",
                "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
            }],
        }],
    }


def whatsapp_message_payload(phone_number_id: str, wa_id: str, text: str, message_id: str,
                             timestamp, name: str, *, waba_id: str = SAMPLE_WABA_ID,
                             content: dict | None = None) -> dict:
    """One customer message. ``timestamp``: unix seconds (int, str or an aware datetime).
    ``content`` replaces the text part for other types, e.g. ``{"type": "image", "image":
    {"id": …, "mime_type": "image/jpeg", "caption": …}}`` or ``{"type": "reaction",
    "reaction": {"message_id": …, "emoji": "👍"}}``."""
    message = {"from": str(wa_id), "id": message_id, "timestamp": _seconds(timestamp)}
    message.update(content if content is not None
                   else {"type": "text", "text": {"body": text}})
    return _whatsapp_body(phone_number_id, {
        "contacts": [{"profile": {"name": name}, "wa_id": str(wa_id)}],
        "messages": [message],
    }, waba_id)


def whatsapp_status_payload(phone_number_id: str, message_id: str, status: str, timestamp,
                            recipient_id: str, errors: list | None = None, *,
                            waba_id: str = SAMPLE_WABA_ID,
                            biz_opaque_callback_data: str = "") -> dict:
    """A status callback (sent / delivered / read / failed) for one of our sends; Meta echoes
    the send's ``biz_opaque_callback_data`` on it."""
    entry = {"id": message_id, "status": status, "timestamp": _seconds(timestamp),
             "recipient_id": str(recipient_id)}
    if biz_opaque_callback_data:
        entry["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status in ("sent", "delivered"):
        entry["conversation"] = {
            "id": f"conv-{message_id[-16:]}",
            "expiration_timestamp": str(int(entry["timestamp"]) + 86400),
            "origin": {"type": "service"},
        }
        entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if errors:
        entry["errors"] = errors
    return _whatsapp_body(phone_number_id, {"statuses": [entry]}, waba_id)


def whatsapp_error(code: int, title: str, details: str = "") -> dict:
    """One ``errors[]`` item as Meta sends it on a failed status."""
    return {
        "code": code, "title": title, "message": title,
        "error_data": {"details": details or title},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


# --- Messenger and Instagram -----------------------------------------------------------------

def _messaging_body(obj: str, account_id: str, user_id: str, text: str, mid: str,
                    timestamp_ms, is_echo: bool, attachments: list | None) -> dict:
    at = _milliseconds(timestamp_ms)
    message: dict = {"mid": mid}
    if text:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    if is_echo:
        # Our own send, echoed back: from the page / account to the person.
        message["is_echo"] = True
        message["app_id"] = 1517776481860111
        sender, recipient = account_id, user_id
    else:
        sender, recipient = user_id, account_id
    return {
        "object": obj,
        "entry": [{
            "id": str(account_id), "time": at,
            "messaging": [{"sender": {"id": str(sender)}, "recipient": {"id": str(recipient)},
                           "timestamp": at, "message": message}],
        }],
    }


def messenger_message_payload(page_id: str, psid: str, text: str, mid: str, timestamp_ms,
                              is_echo: bool = False, *,
                              attachments: list | None = None) -> dict:
    """One Messenger message to a page (``is_echo``: the page's own send echoed back).
    ``attachments``: ``[{"type": "image", "payload": {"url": …}}]``."""
    return _messaging_body(MESSENGER_OBJECT, page_id, psid, text, mid, timestamp_ms, is_echo,
                           attachments)


def instagram_message_payload(account_id: str, igsid: str, text: str, mid: str, timestamp_ms,
                              is_echo: bool = False, *,
                              attachments: list | None = None) -> dict:
    """One Instagram direct message to a professional account (``is_echo``: our own send,
    which Instagram delivers on the same ``messages`` field)."""
    return _messaging_body(INSTAGRAM_OBJECT, account_id, igsid, text, mid, timestamp_ms,
                           is_echo, attachments)


def _receipt_body(obj: str, account_id: str, user_id: str, at_ms: int, receipt: dict) -> dict:
    return {
        "object": obj,
        "entry": [{
            "id": str(account_id), "time": at_ms,
            "messaging": [{"sender": {"id": str(user_id)}, "recipient": {"id": str(account_id)},
                           "timestamp": at_ms, **receipt}],
        }],
    }


def messenger_delivery_payload(page_id: str, psid: str, mids: list[str], watermark_ms) -> dict:
    """Messenger's ``message_deliveries``: the person's device received our messages."""
    at = _milliseconds(watermark_ms)
    return _receipt_body(MESSENGER_OBJECT, page_id, psid, at,
                         {"delivery": {"mids": list(mids), "watermark": at}})


def messenger_read_payload(page_id: str, psid: str, watermark_ms) -> dict:
    """Messenger's ``message_reads``: everything we sent up to the watermark was read."""
    at = _milliseconds(watermark_ms)
    return _receipt_body(MESSENGER_OBJECT, page_id, psid, at, {"read": {"watermark": at}})


def instagram_seen_payload(account_id: str, igsid: str, mid: str, timestamp_ms) -> dict:
    """Instagram's ``messaging_seen``: the person saw our message ``mid``."""
    at = _milliseconds(timestamp_ms)
    return _receipt_body(INSTAGRAM_OBJECT, account_id, igsid, at, {"read": {"mid": mid}})


# --- several events in one body --------------------------------------------------------------

def meta_batch(*payloads: dict, group: bool = False) -> dict:
    """One body carrying the events of several single-event bodies of the same object, as
    Meta batches them.

    Without ``group`` each payload keeps its own entry (several entries). With ``group``,
    entries with the same id become one entry, and on WhatsApp the changes of the same
    phone number become one change whose ``contacts``, ``messages`` and ``statuses`` lists
    are joined (several messages in one change); Messenger / Instagram join ``messaging``.
    """
    if not payloads:
        raise ValueError("meta_batch needs at least one payload")
    objects = {payload["object"] for payload in payloads}
    if len(objects) != 1:
        raise ValueError(f"cannot batch different objects: {sorted(objects)}")
    entries = [dict(entry) for payload in payloads for entry in payload["entry"]]
    if not group:
        return {"object": objects.pop(), "entry": entries}
    merged: dict[str, dict] = {}
    for entry in entries:
        into = merged.get(entry["id"])
        if into is None:
            merged[entry["id"]] = {
                **entry,
                **({"changes": [_change_copy(c) for c in entry["changes"]]}
                   if "changes" in entry else {}),
                **({"messaging": list(entry["messaging"])} if "messaging" in entry else {}),
            }
            continue
        if "messaging" in entry:
            into.setdefault("messaging", []).extend(entry["messaging"])
        for change in entry.get("changes", []):
            _change_join(into.setdefault("changes", []), change)
    return {"object": objects.pop(), "entry": list(merged.values())}


def _change_copy(change: dict) -> dict:
    value = dict(change.get("value", {}))
    for key in ("contacts", "messages", "statuses"):
        if key in value:
            value[key] = list(value[key])
    return {**change, "value": value}


def _change_join(changes: list, change: dict) -> None:
    number = change.get("value", {}).get("metadata", {}).get("phone_number_id")
    for existing in changes:
        if existing.get("value", {}).get("metadata", {}).get("phone_number_id") == number:
            for key in ("contacts", "messages", "statuses"):
                items = change["value"].get(key)
                if items:
                    existing["value"].setdefault(key, []).extend(items)
            return
    changes.append(_change_copy(change))
