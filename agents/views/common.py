"""What the inbox pages share: a conversation's window and SLA in words, and who said what."""

from dataclasses import dataclass
from datetime import datetime

from agents.models import ChannelKind, SenderKind
from agents.window import HUMAN_AGENT_TAG, send_rule


@dataclass(frozen=True)
class Badge:
    words: str
    tone: str  # a CSS class: ok, warn, bad or muted


@dataclass(frozen=True)
class WindowState:
    words: str
    tone: str
    free_text: bool
    tag: str
    reason: str


def left_words(seconds: float) -> str:
    """Time left as a countdown: "42 m", "3 h 12 m", "5 days"."""
    seconds = int(seconds)
    if seconds < 60:
        return "less than a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} m" if minutes else f"{hours} h"
    days = hours // 24
    return "1 day" if days == 1 else f"{days} days"


def ago_words(seconds: float) -> str:
    return left_words(seconds).replace("less than a minute", "under a minute")


def window_state(conversation, now: datetime) -> WindowState:
    """What an SDR may send now on this conversation, and for how long."""
    kind = conversation.channel.kind
    rule = send_rule(channel_kind=kind, last_inbound_at=conversation.last_inbound_at, now=now,
                     human=True)
    if kind == ChannelKind.GMAIL:
        return WindowState("email: no window", "muted", True, "", "")
    if rule.free_text:
        left = (rule.closes_at - now).total_seconds()
        if rule.tag == HUMAN_AGENT_TAG:
            return WindowState(f"human reply only, {left_words(left)} left", "warn", True,
                               rule.tag, "")
        tone = "warn" if left < 3600 else "ok"
        return WindowState(f"window open, {left_words(left)} left", tone, True, "", "")
    if kind == ChannelKind.WHATSAPP:
        return WindowState("window closed: templates only", "bad", False, "", rule.reason)
    return WindowState("window closed: no reply until the lead writes", "bad", False, "",
                       rule.reason)


def sla_badge(lead, now: datetime) -> Badge | None:
    """The lead's first-response target: due in …, breached or met; None without a target."""
    due, answered, breached = (lead.first_response_due_at, lead.first_response_at,
                               lead.sla_breached_at)
    if answered is not None:
        if breached is not None or (due is not None and answered > due):
            return Badge("SLA breached", "bad")
        return Badge("SLA met", "ok")
    if breached is not None or (due is not None and now >= due):
        return Badge("SLA breached", "bad")
    if due is None:
        return None
    left = (due - now).total_seconds()
    return Badge(f"SLA due in {left_words(left)}", "warn" if left < 300 else "due")


TIER_TONES = {"hot": "tier-hot", "warm": "tier-warm", "cold": "tier-cold"}
INTENT_WORDS = {"high": "high intent", "medium": "medium intent", "low": "low intent"}


def tier_badge(lead) -> Badge | None:
    if not lead.tier:
        return None
    return Badge(lead.get_tier_display(), TIER_TONES.get(lead.tier, "muted"))


def intent_badge(intent: str) -> Badge | None:
    """The intent of the lead's latest reading, in words."""
    words = INTENT_WORDS.get(intent or "")
    return Badge(words, f"intent-{intent}") if words else None


def inbox_badges(conversation, now: datetime) -> None:
    """What a row and a thread's header show: window, SLA, tier and intent. The intent is
    the latest message's reading (``latest_intent``, annotated by the inbox's selectors),
    else the lead's."""
    lead = conversation.lead
    conversation.window = window_state(conversation, now)
    conversation.sla = sla_badge(lead, now)
    conversation.tier_badge = tier_badge(lead)
    conversation.intent_badge = intent_badge(getattr(conversation, "latest_intent", None)
                                       or lead.intent)


def member_name(membership) -> str:
    if membership is None:
        return "nobody"
    return membership.user.get_full_name() or membership.user.get_username()


def contact_name(conversation) -> str:
    lead = conversation.lead
    found = conversation.contact_name or lead.name or lead.phone or lead.email
    if found:
        return found
    # Instagram and Messenger name a person by a long scoped id and send no name with it.
    return f"{conversation.channel.get_kind_display()} contact …{conversation.contact_id[-4:]}"


def sender_words(message, conversation) -> str:
    if message.sender == SenderKind.LEAD:
        return contact_name(conversation)
    if message.sender == SenderKind.SDR:
        return member_name(message.author) if message.author_id else "A sales rep"
    return message.get_sender_display()
