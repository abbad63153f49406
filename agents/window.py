"""The customer-service windows, as pure rules (no ORM).

WhatsApp: free-form messages only while the window is open, i.e. until 24 hours after the
lead's last message to us; our own sends never reopen it. Outside it only an approved template.
Messenger and Instagram: the same 24 hours for everyone, and a human (not an automation) may
still reply with the HUMAN_AGENT tag up to 7 days after the lead's last message.
Gmail has no window.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
HUMAN_AGENT_TAG = "HUMAN_AGENT"

# What each channel carries in one text message.
TEXT_LIMITS = {"whatsapp": 4096, "messenger": 2000, "instagram": 1000, "gmail": 100_000}


@dataclass(frozen=True)
class SendRule:
    """What may be sent now: ``free_text`` (any text), ``tag`` (to put on it), or nothing but
    a template. ``closes_at`` is when the current allowance ends (None: never / not open)."""

    free_text: bool
    tag: str = ""
    closes_at: datetime | None = None
    reason: str = ""


def window_closes_at(last_inbound_at: datetime | None) -> datetime | None:
    return None if last_inbound_at is None else last_inbound_at + STANDARD_WINDOW


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    closes = window_closes_at(last_inbound_at)
    return closes is not None and now < closes


def send_rule(*, channel_kind: str, last_inbound_at: datetime | None, now: datetime,
              human: bool) -> SendRule:
    """How a free-text message may go on this channel now; ``human`` is an SDR typing it."""
    if channel_kind == "gmail":
        return SendRule(free_text=True)
    closes = window_closes_at(last_inbound_at)
    if closes is not None and now < closes:
        return SendRule(free_text=True, closes_at=closes)
    if channel_kind in ("messenger", "instagram") and human and last_inbound_at is not None:
        human_closes = last_inbound_at + HUMAN_AGENT_WINDOW
        if now < human_closes:
            return SendRule(free_text=True, tag=HUMAN_AGENT_TAG, closes_at=human_closes)
        return SendRule(free_text=False, reason=(
            "More than 7 days have passed since this lead's last message, so Meta allows no "
            "reply until they write again."
        ))
    if channel_kind == "whatsapp":
        if last_inbound_at is None:
            why = "This lead has never written on WhatsApp, so no 24-hour window is open"
        else:
            why = "More than 24 hours have passed since this lead's last WhatsApp message"
        return SendRule(free_text=False, reason=f"{why}: send an approved template instead.")
    return SendRule(free_text=False, reason=(
        "More than 24 hours have passed since this lead's last message; only a person may "
        "reply now (for up to 7 days), not an automated sender."
    ))
