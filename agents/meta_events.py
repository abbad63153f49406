"""Meta's webhook bodies as data, with no database: splitting one POST into its events
(the endpoints store one row per event), and reading one stored event into an ``Inbound``
message (the worker applies it). Every field is read defensively: a body is signed by Meta,
but its shape is still only what Meta documents, so a missing or odd field degrades to blank
instead of failing the whole delivery.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from agents.models import Conversation, MessageKind
from flexoraa.webhooks.adapters import DeliveryMalformed

WHATSAPP_MEDIA = ("image", "video", "audio", "document", "sticker")
CONTACT_ID_MAX = Conversation._meta.get_field("contact_id").max_length


class MalformedEvent(DeliveryMalformed):
    """The event cannot be read; trying again will not help."""


# --- splitting a body into events ------------------------------------------------------------

def as_list(value) -> list:
    return value if isinstance(value, list) else []


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def id_text(value) -> str:
    return value if isinstance(value, str) else (str(value) if isinstance(value, int) else "")


def whatsapp_events(body: dict) -> list[tuple[str, str, str, dict]]:
    """``(channel id, event id, event type, payload)`` for each message and status."""
    events = []
    for entry in as_list(body.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            value = as_dict(as_dict(change).get("value"))
            channel_id = id_text(as_dict(value.get("metadata")).get("phone_number_id"))
            contacts = [as_dict(contact) for contact in as_list(value.get("contacts"))]
            for message in as_list(value.get("messages")):
                message = as_dict(message)
                wa_id = id_text(message.get("from"))
                contact = next((c for c in contacts if id_text(c.get("wa_id")) == wa_id),
                               contacts[0] if contacts else {})
                events.append((channel_id, id_text(message.get("id")), "message", {
                    "channel_id": channel_id,
                    "wa_id": wa_id or id_text(contact.get("wa_id")),
                    "profile_name": id_text(as_dict(contact.get("profile")).get("name")),
                    "message": message,
                }))
            for status in as_list(value.get("statuses")):
                status = as_dict(status)
                status_id, state = id_text(status.get("id")), id_text(status.get("status"))
                event_id = f"{status_id}:{state}" if status_id and state else ""
                events.append((channel_id, event_id, "status",
                               {"channel_id": channel_id, "status": status}))
    return events


def messaging_events(body: dict) -> list[tuple[str, str, str, dict]]:
    """Messenger / Instagram: each ``messaging[]`` item that is a message from a person, and
    the receipts of ours (Messenger ``delivery`` and ``read``, Instagram's seen ``read``).
    Echoes of our own sends are dropped; postbacks and reactions are left alone."""
    events = []
    for entry in as_list(body.get("entry")):
        entry = as_dict(entry)
        for item in as_list(entry.get("messaging")):
            item = as_dict(item)
            channel_id = id_text(entry.get("id")) or id_text(
                as_dict(item.get("recipient")).get("id"))
            message = as_dict(item.get("message"))
            if message:
                if not message.get("is_echo"):
                    events.append((channel_id, id_text(message.get("mid")), "message",
                                   {"channel_id": channel_id, "messaging": item}))
                continue
            events += _receipt_events(channel_id, item)
    return events


def _receipt_events(channel_id: str, item: dict) -> list[tuple[str, str, str, dict]]:
    # Receipts carry milliseconds; statuses are applied in WhatsApp's shape (seconds).
    def status(mid: str, state: str, at_ms) -> tuple[str, str, str, dict]:
        seconds = str(int(at_ms) // 1000) if isinstance(at_ms, int) else ""
        return (channel_id, f"{mid}:{state}" if mid else "", "status",
                {"channel_id": channel_id,
                 "status": {"id": mid, "status": state, "timestamp": seconds}})

    delivery, read = as_dict(item.get("delivery")), as_dict(item.get("read"))
    events = [status(id_text(mid), "delivered", delivery.get("watermark") or
                     item.get("timestamp")) for mid in as_list(delivery.get("mids"))]
    if read.get("mid"):
        events.append(status(id_text(read.get("mid")), "read", item.get("timestamp")))
    elif isinstance(read.get("watermark"), int):
        person = id_text(as_dict(item.get("sender")).get("id"))
        events.append((channel_id, f"read:{person}:{read['watermark']}" if person else "",
                       "read_watermark", {"channel_id": channel_id, "contact_id": person,
                                          "watermark_ms": read["watermark"]}))
    return events


# --- reading one event ----------------------------------------------------------------------

@dataclass(frozen=True)
class Inbound:
    contact_id: str
    contact_name: str
    phone: str
    provider_message_id: str
    at: datetime
    kind: str
    body: str
    attachments: list


def from_seconds(value, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def from_milliseconds(value, fallback: datetime) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return fallback
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return fallback


def as_text(value) -> str:
    return value if isinstance(value, str) else ""


def contact_key(sender: str) -> str:
    """The sender's id as its conversation keeps it: as sent, or, when longer than the column
    (no documented id is), its start and a hash of the whole, so two long ids never share a
    conversation and the message is still stored."""
    if len(sender) <= CONTACT_ID_MAX:
        return sender
    digest = hashlib.sha256(sender.encode("utf-8", "replace")).hexdigest()[:32]
    return f"{sender[:CONTACT_ID_MAX - len(digest) - 1]}~{digest}"


def whatsapp_content(message: dict) -> tuple[str, str, list]:
    kind = as_text(message.get("type"))
    part = as_dict(message.get(kind))
    if kind == "text":
        return MessageKind.TEXT, as_text(part.get("body")), []
    if kind == "button":  # a quick-reply button of a template
        return MessageKind.TEXT, as_text(part.get("text")), []
    if kind == "interactive":
        reply = as_dict(part.get("button_reply")) or as_dict(part.get("list_reply"))
        return MessageKind.TEXT, as_text(reply.get("title")), []
    if kind in WHATSAPP_MEDIA:
        caption = as_text(part.get("caption"))
        # WhatsApp names media by id; its URL is fetched from the Graph API when shown.
        attachment = {"type": kind, "id": as_text(part.get("id")), "url": as_text(part.get("url")),
                      "mime_type": as_text(part.get("mime_type")), "caption": caption}
        if part.get("filename"):
            attachment["filename"] = as_text(part.get("filename"))
        return MessageKind.ATTACHMENT, caption, [attachment]
    if kind == "reaction":
        return MessageKind.OTHER, as_text(part.get("emoji")), [
            {"type": "reaction", "message_id": as_text(part.get("message_id"))}]
    return MessageKind.OTHER, "", [{"type": kind or "unknown"}]


def whatsapp_inbound(payload: dict, *, fallback_at: datetime) -> Inbound:
    message = as_dict(payload.get("message"))
    wa_id = as_text(payload.get("wa_id")) or as_text(message.get("from"))
    message_id = as_text(message.get("id"))
    if not wa_id or not message_id:
        raise MalformedEvent("a WhatsApp message needs its sender and id")
    kind, body, attachments = whatsapp_content(message)
    return Inbound(
        contact_id=contact_key(wa_id), contact_name=as_text(payload.get("profile_name"))[:200],
        phone=f"+{wa_id.lstrip('+')}", provider_message_id=message_id,
        at=from_seconds(message.get("timestamp"), fallback_at),
        kind=kind, body=body, attachments=attachments,
    )


def messaging_inbound(payload: dict, *, fallback_at: datetime) -> Inbound:
    item = as_dict(payload.get("messaging"))
    message = as_dict(item.get("message"))
    sender = as_text(as_dict(item.get("sender")).get("id"))
    mid = as_text(message.get("mid"))
    if not sender or not mid:
        raise MalformedEvent("a message needs its sender and mid")
    text = as_text(message.get("text"))
    attachments = [
        {"type": as_text(item.get("type")),
         "url": as_text(as_dict(item.get("payload")).get("url")), "caption": ""}
        for item in as_list(message.get("attachments")) if isinstance(item, dict)
    ]
    kind = (MessageKind.ATTACHMENT if attachments
            else MessageKind.TEXT if text else MessageKind.OTHER)
    return Inbound(
        contact_id=contact_key(sender), contact_name="", phone="", provider_message_id=mid,
        at=from_milliseconds(item.get("timestamp"), fallback_at), kind=kind, body=text,
        attachments=attachments,
    )
