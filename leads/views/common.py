"""What the LeadOS pages share: limits, and times, names and events put into words."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.dateformat import format as format_date

from flexoraa.confidence import confidence_words
from leads.models import (
    AssignmentReason,
    Intent,
    LeadEvent,
    Source,
    Status,
    Tier,
    VerificationStatus,
)

PAGE_SIZE = 50
TIMELINE_LIMIT = 200
BREACH_LIMIT = 100
UNASSIGNED = "none"
SLA_DAY_CHOICES = (7, 30, 90)
FACTOR_LABELS = {"intent": "Intent", "budget": "Budget", "authority": "Authority",
                 "timeline": "Timeline", "engagement": "Engagement"}
FIELD_WORDS = {"name": "name", "phone": "phone", "email": "email", "need": "need",
               "budget_amount": "budget", "budget_currency": "budget currency",
               "authority": "authority", "timeline": "timeline", "status": "status",
               "lost_reason": "lost reason"}


# --- words for times -----------------------------------------------------------------------

def span_words(seconds: float) -> str:
    """A span as a person says it: "less than a minute", "4 min", "2 h 5 min", "3 d 4 h"."""
    seconds = int(seconds)
    if seconds < 60:
        return "less than a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def duration_words(seconds: float | None) -> str:
    """A measured time such as a p50; seconds stay visible while they matter."""
    if seconds is None:
        return "no data yet"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return span_words(seconds)


@dataclass(frozen=True)
class SlaState:
    words: str
    tone: str  # a CSS class: ok, warn, bad or muted


def sla_state(lead, now: datetime) -> SlaState:
    """Where the lead stands against its first-response target, in words."""
    due = lead.first_response_due_at
    if lead.first_response_at is not None:
        if due is not None and lead.first_response_at > due:
            return SlaState("answered late", "warn")
        return SlaState("answered", "ok")
    if due is None:
        return SlaState("no target", "muted")
    left = (due - now).total_seconds()
    if left >= 0:
        return SlaState(f"due in {span_words(left)}", "due")
    return SlaState(f"overdue by {span_words(-left)}", "bad")


def member_name(membership) -> str:
    if membership is None:
        return "nobody"
    return membership.user.get_full_name() or membership.user.get_username()


def _label(choices, value) -> str:
    try:
        return choices(value).label
    except ValueError:
        return str(value)


# --- the list pages ----------------------------------------------------------------------

def _invalid_choice(what: str, choices) -> dict:
    names = ", ".join(str(label) for value, label in choices if value)
    return {"invalid_choice": f"'%(value)s' is not a {what}. Choose one of: {names}."}


def _local(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return ""
    return format_date(timezone.localtime(moment), "j M, H:i")


def event_words(event, names: dict[int, str]) -> str:
    """A timeline entry in words. ``data`` holds codes and ids; names come from the team."""
    data = event.data or {}
    kind = LeadEvent.Kind
    if event.kind == kind.CREATED:
        source = _label(Source, data.get("source", ""))
        checked = _label(VerificationStatus, data.get("verification", "")).lower()
        return f"Came in through {source}. Contact check: {checked}."
    if event.kind == kind.MERGED:
        source = _label(Source, data.get("source", ""))
        changed = [FIELD_WORDS.get(name) for name in data.get("fields", [])]
        changed = sorted({word for word in changed if word})
        words = f"Came in again through {source}; " + (
            f"updated {', '.join(changed)}." if changed else "nothing new.")
        if data.get("also_matches"):
            others = ", ".join(f"#{pk}" for pk in data["also_matches"])
            words += f" Its contact also matches lead {others}."
        return words
    if event.kind == kind.SCORED:
        now = f"{data.get('score')} ({_label(Tier, data.get('tier', ''))})"
        was = data.get("was")
        because = f" after {data['reason']}" if data.get("reason") else ""
        if was:
            before = f"{was.get('score')} ({_label(Tier, was.get('tier', ''))})"
            return f"Rescored from {before} to {now}{because}."
        return f"Scored {now}" + (f" on {data['reason']}." if data.get("reason") else ".")
    if event.kind == kind.ASSIGNED:
        reason = _label(AssignmentReason, data.get("reason", "")).lower()
        to = names.get(data.get("to"), "a former member")
        start = (f"Moved from {names.get(data['from'], 'a former member')} to {to}"
                 if data.get("from") else f"Assigned to {to}")
        detail = f" {data['detail']}" if data.get("detail") else ""
        return f"{start}: {reason}.{detail}"
    if event.kind == kind.STATUS:
        to = _label(Status, data.get("to", "")).lower()
        if data.get("lost_reason_label"):
            return f"Status changed to {to}: {data['lost_reason_label']}."
        if data.get("on") == "first_response":
            return f"Status changed to {to} by the first reply."
        return f"Status changed to {to}."
    if event.kind == kind.UPDATED:
        changed = sorted({FIELD_WORDS.get(name, name) for name in data.get("fields", [])})
        reason = (f" Lost reason: {data['lost_reason_label']}."
                  if data.get("lost_reason_label") else "")
        return (f"Updated {', '.join(changed)}." if changed else "Details updated.") + reason
    if event.kind == kind.FIRST_RESPONSE:
        return "First response sent, " + (
            "within the target." if data.get("met_sla", True) else "after the target.")
    if event.kind == kind.SLA_BREACHED:
        due = _local(data.get("due_at"))
        return "Missed the first-response target" + (f" (due {due})." if due else ".")
    if event.kind == kind.ANALYSED:
        intent = _label(Intent, data.get("intent", "")).lower()
        confidence = data.get("confidence")
        sure = (f" ({confidence_words(confidence)})" if isinstance(confidence, int | float)
                else "")
        found = [words for key, words in (
            ("budget_found", "a budget"), ("timeline", "when they want to buy"),
            ("authority", "who decides")) if data.get(key)]
        stated = f"; it stated {' and '.join(found)}" if found else ""
        return f"Message read: {intent} intent{sure}{stated}."
    if event.kind == kind.QUEUED:
        detail = f" {data['detail']}" if data.get("detail") else ""
        return f"Waiting in the unassigned queue.{detail}"
    if event.kind == kind.NOTE:
        mentioned = [names.get(pk, "a former member") for pk in data.get("mentions", [])]
        return "Wrote a note" + (f" mentioning {', '.join(mentioned)}." if mentioned else ".")
    if event.kind == kind.FOLLOW_UP:
        due = _local(data.get("due_at"))
        owner = names.get(data.get("owner"), "a former member")
        return {
            "set": f"Follow-up set for {owner}, due {due}.",
            "rescheduled": f"Follow-up of {owner} moved to {due}.",
            "done": f"Follow-up of {owner} done.",
        }.get(data.get("action"), "Follow-up changed.")
    if event.kind == kind.SLA_CHANGED:
        due = _local(data.get("due_at"))
        reason = data.get("reason") or "The first-response target changed."
        return reason + (f" Now due {due}." if due else "")
    return f"{event.get_kind_display()}."
