"""One inbound message stored in its conversation, the same way for every channel (Meta's
webhooks and Gmail's polling): the NLU's reading, the lead's engagement, the conversation's
unread count and window, and an opt-out.

Locks go lead first, then conversation: the order every writer of both takes, so none of
them deadlock. Runs inside the caller's transaction.
"""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction

from agents.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    SenderKind,
)
from agents.optout import is_opt_out
from flexoraa.actors import Actor
from leads import services as lead_services

logger = logging.getLogger(__name__)

INTENTS = ("high", "medium", "low")


class DuplicateMessage(Exception):
    """The message was stored meanwhile (another delivery or poll won the race). The caller
    rolls back its transaction: the lead's engagement was already counted for it."""


@dataclass(frozen=True)
class Received:
    """What a channel read from one message the lead sent."""

    provider_message_id: str
    at: datetime
    kind: str = MessageKind.TEXT
    body: str = ""
    subject: str = ""
    attachments: list = field(default_factory=list)
    contact_name: str = ""
    thread_id: str = ""
    # The part the lead wrote, when the body also quotes us (an email reply).
    own_words: str | None = None


def inbound_client_id(channel: Channel, provider_message_id: str) -> str:
    """Our id for a received message: stable, so the same provider message maps to one id."""
    digest = hashlib.sha256(
        f"{channel.kind}:{channel.external_id}:{provider_message_id}".encode()).hexdigest()
    return f"in-{digest[:61]}"


def message_analysis(text: str, org):
    """The NLU's reading of ``text``, or None when this machine has no trained model."""
    from agents.nlu import analyze
    from agents.nlu.model import ArtefactMissing

    try:
        return analyze(text, org=org)
    except ArtefactMissing:
        # The message is kept, unread by the NLU.
        logger.warning("no NLU model; inbound message not analysed",
                       extra={"organization_id": org.pk})
        return None


@dataclass(frozen=True)
class Reading:
    """A message read before anything is stored, so a lead it creates is scored with it."""

    opt_out: bool
    analysis: object | None  # agents.nlu.Analysis

    def for_lead(self, at: datetime) -> lead_services.MessageReading:
        """What the lead's record takes from it (an opt-out or an unread message: only that
        it came)."""
        found = self.analysis
        if found is None or found.intent not in INTENTS:
            return lead_services.MessageReading(at=at)
        return lead_services.MessageReading(
            at=at, intent=found.intent, confidence=found.confidence, act=found.act,
            budget_amount=found.budget_amount, budget_currency=found.budget_currency,
            budget_period=found.budget_period, timeline=found.timeline,
            authority=found.authority,
            evidence={name: words for name, words in (
                ("budget", found.budget_phrase), ("timeline", found.timeline_phrase),
                ("authority", found.authority_phrase)) if words},
        )


def message_read(received: Received, org) -> Reading:
    """Read one received message: an opt-out, else the NLU's reading of the lead's words."""
    words = received.body if received.own_words is None else received.own_words
    readable = received.kind == MessageKind.TEXT and bool(words.strip() or received.subject)
    opt_out = readable and is_opt_out(words.strip() or received.subject)
    analysis = message_analysis(words, org) if readable and words.strip() and not opt_out \
        else None
    return Reading(opt_out=opt_out, analysis=analysis)


def inbound_message_store(*, channel: Channel, conversation: Conversation,
                          received: Received, actor: Actor, reading: Reading | None = None,
                          lead_counted: bool = False) -> tuple[str, Message | None]:
    """Store the message once: ``("duplicate", None)`` when this conversation has it already,
    else ``("opted_out" | "stored", message)``. ``actor`` is what carried the message in
    (``Actor.system("webhook:meta")``, the Gmail poll). ``reading`` is the message already
    read (``message_read``); ``lead_counted`` says the lead was created with it, so its
    engagement and reading are in already. Raises ``DuplicateMessage`` when a concurrent
    writer stored it first (roll back)."""
    org = channel.organization
    if Message.objects.filter(conversation=conversation,
                              provider_message_id=received.provider_message_id).exists():
        return "duplicate", None
    reading = reading or message_read(received, org)
    opt_out, analysis = reading.opt_out, reading.analysis
    lead = conversation.lead
    if not lead_counted:
        lead = lead_services.lead_message_record(
            org=org, lead=lead, direction="inbound", at=received.at,
            reading=None if opt_out else reading.for_lead(received.at))
    conversation = Conversation.objects.select_for_update(no_key=True).get(pk=conversation.pk)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                organization=org, conversation=conversation, direction=Direction.INBOUND,
                sender=SenderKind.LEAD, kind=received.kind, body=received.body,
                subject=received.subject[:300], attachments=received.attachments,
                provider_message_id=received.provider_message_id,
                client_id=inbound_client_id(channel, received.provider_message_id),
                status=MessageStatus.RECEIVED, created_at=received.at,
                predicted_intent=analysis.intent if analysis else "",
                intent_confidence=analysis.confidence if analysis else None,
                intent_model_version=analysis.model_version if analysis else "",
            )
    except IntegrityError as exc:
        raise DuplicateMessage from exc
    # Messages arrive out of order: times only move forward, and the newest one decides.
    latest = conversation.last_inbound_at is None or received.at >= conversation.last_inbound_at
    conversation.last_inbound_at = max(filter(None, (conversation.last_inbound_at, received.at)))
    conversation.last_message_at = max(filter(None, (conversation.last_message_at, received.at)))
    fields = ["last_inbound_at", "last_message_at"]
    if received.contact_name and not conversation.contact_name:
        conversation.contact_name = received.contact_name[:200]
        fields.append("contact_name")
    if received.thread_id and (latest or not conversation.thread_id):
        # Replies go to the thread the lead wrote in last.
        conversation.thread_id = received.thread_id[:64]
        fields.append("thread_id")
    conversation.save(update_fields=fields)
    if opt_out:
        lead_services.lead_opt_out(org=org, lead=lead, at=received.at, channel=channel.kind,
                                   evidence=received.provider_message_id, actor=actor)
    logger.info("inbound message stored", extra={
        "organization_id": org.pk, "channel": channel.kind,
        "conversation_id": conversation.pk, "message_id": message.pk, "opt_out": opt_out})
    return ("opted_out" if opt_out else "stored"), message
