"""What an SDR does in the inbox besides sending: reading a conversation (each person keeps
their own place), handing it to a colleague, and judging the NLU's reading of a message (the
ground truth for drift)."""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agents import selectors
from agents.models import Conversation, ConversationRead, Direction, IntentVerdict, Message
from flexoraa.actors import Actor
from flexoraa.errors import NotFound, PermissionDenied, ValidationFailed
from flexoraa.models import Membership, Organization
from flexoraa.notifications import notify_after_commit
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from flexoraa.tenancy import role_is_managing
from leads import services as lead_services

logger = logging.getLogger(__name__)


def conversation_mark_read(*, org: Organization, conversation: Conversation, actor: Actor,
                           up_to: int | None = None, known_mark: int | None = None) -> int:
    """Mark the conversation read for the person acting, up to message ``up_to`` (the latest
    message when None); returns their mark. Only their own unread count changes: a manager
    reading a rep's thread leaves the rep's as it was. A mark never moves back.

    Opening a thread calls this on every view, so it writes only when the mark moves (a
    caller that read the person's mark with the conversation passes it as ``known_mark``
    and an unchanged thread costs no query), and records no audit event (reading changes no
    data a manager answers for). An API key or the system has no unread of its own: nothing
    is written and 0 returned.

    Raises ``NotFound`` across tenants.
    """
    if conversation.organization_id != org.pk:
        raise NotFound("No such conversation.")
    reader = actor_membership(org, actor)
    if reader is None:
        return 0
    if up_to is None:
        up_to = selectors.latest_message_id(org, conversation) or 0
    if not up_to or (known_mark is not None and known_mark >= up_to):
        return known_mark or 0
    now = timezone.now()
    mine = ConversationRead.objects.for_org(org).filter(conversation=conversation,
                                                        membership=reader)
    # One UPDATE when the row exists, and it only ever moves the mark forward.
    forward = mine.filter(last_read_message_id__lt=up_to)
    if forward.update(last_read_message_id=up_to, read_at=now):
        return up_to
    row, created = mine.get_or_create(
        conversation=conversation, membership=reader,
        defaults={"organization": org, "last_read_message_id": up_to, "read_at": now})
    if not created and row.last_read_message_id < up_to:
        # Another first reading created the row a moment ago, with an older mark.
        forward.update(last_read_message_id=up_to, read_at=now)
        return up_to
    return row.last_read_message_id


def conversation_assign(*, org: Organization, conversation: Conversation, assignee,
                        actor: Actor) -> Conversation:
    """Hand a conversation to a member: a manager to anyone, an SDR the conversation they
    hold to a colleague. ``assignee`` is a membership or its id.

    The lead's owner holds its conversations, so for an open lead the lead moves through
    ``lead_reassign`` and its conversations with it. A closed lead keeps its owner (its
    history is settled); only this conversation is handed over (``handed_to``), until the
    lead opens again. The new holder is told after commit (``conversation_transferred``).

    Raises ``NotFound`` across tenants, ``PermissionDenied`` when an SDR hands over a
    conversation that is not theirs, ``ValidationFailed`` when the assignee is not an
    available member of this tenant, ``LeadClosed`` when the lead closed meanwhile.
    """
    if conversation.organization_id != org.pk:
        raise NotFound("No such conversation.")
    by = actor_membership(org, actor)
    if by is None:
        raise PermissionDenied("Only a member of this organization can assign conversations.")
    assignee_id = assignee.pk if isinstance(assignee, Membership) else assignee
    try:
        assignee_id = int(assignee_id)
    except (TypeError, ValueError):
        raise ValidationFailed("Choose who takes the conversation.",
                               fields={"assignee": ["Choose who takes the conversation."]}
                               ) from None
    with transaction.atomic():
        current = Conversation.objects.for_org(org).select_related("lead").get(
            pk=conversation.pk)
        lead = current.lead
        previous = current.assignee_id
        if not role_is_managing(by.role) and by.pk not in (previous, lead.owner_id):
            raise PermissionDenied("You can only transfer a conversation that is yours.")
        target = Membership.objects.for_org(org).filter(pk=assignee_id).first()
        if target is None:
            raise ValidationFailed(
                "assignee: No member of this organization has that id.",
                fields={"assignee": ["No member of this organization has that id."]},
            )
        if not target.is_available:
            raise ValidationFailed(
                "assignee: That person is away; choose someone who is available.",
                fields={"assignee": ["That person is away; choose someone who is available."]},
            )
        if previous == target.pk:
            return current
        if lead.is_open:
            lead_services.lead_reassign(org=org, lead=lead, owner_id=target.pk, actor=actor,
                                        note="Moved with its conversation in the inbox.")
        # Locked after the lead, the order every lead-then-conversation writer takes.
        locked = Conversation.objects.for_org(org).select_for_update(of=("self",)).get(
            pk=conversation.pk)
        locked.handed_to = None if lead.is_open else target
        locked.save(update_fields=["handed_to"])
        event = audit_event_record(
            org=org, actor=actor, action="conversation.assigned", target=locked,
            data={"from": previous, "to": target.pk,
                  "transfer": not role_is_managing(by.role)},
        )
        if target.pk != by.pk:
            _tell_transferred(org, locked, target, event.pk)
    logger.info("conversation assigned", extra={"org_id": org.pk,
                                                "conversation_id": locked.pk,
                                                "assignee_id": target.pk})
    return Conversation.objects.for_org(org).select_related(
        "lead__owner__user", "channel", "handed_to__user").get(pk=locked.pk)


def _tell_transferred(org: Organization, conversation: Conversation, target: Membership,
                      event_id: int) -> None:
    """The new holder's notification, created after commit; one per hand-over (the audit
    event's id), so a retried request never tells twice."""
    lead = conversation.lead
    who = conversation.contact_name or lead.name or lead.phone or lead.email or "a lead"
    notify_after_commit(
        org=org, recipient_ids=[target.pk], kind="conversation_transferred",
        title=f"Conversation with {who} transferred to you",
        url=reverse("inbox-thread", args=[conversation.pk]),
        dedupe_key=f"conversation:{conversation.pk}:transferred:{event_id}",
    )


def intent_verdict_record(*, org: Organization, message: Message, verdict: str,
                          actor: Actor) -> Message:
    """Mark the NLU's predicted intent on an inbound message right or wrong, with who and
    when. A later verdict replaces the earlier one.

    Raises ``NotFound`` across tenants, ``ValidationFailed`` for a message without a
    predicted intent (our own sends, unanalysed messages) or a verdict other than right /
    wrong.
    """
    if message.organization_id != org.pk:
        raise NotFound("No such message.")
    if verdict not in IntentVerdict.values:
        raise ValidationFailed("verdict: Say whether the intent is right or wrong.",
                               fields={"verdict": ["Choose right or wrong."]})
    by = actor_membership(org, actor)
    if by is None:
        raise PermissionDenied("Only a member of this organization can judge an intent.")
    with transaction.atomic():
        locked = Message.objects.for_org(org).select_for_update(of=("self",)).get(
            pk=message.pk)
        if locked.direction != Direction.INBOUND or not locked.predicted_intent:
            raise ValidationFailed(
                "Only a message from the lead with a predicted intent can be judged."
            )
        was = locked.intent_verdict
        if was == verdict:
            return locked
        locked.intent_verdict = verdict
        locked.intent_verdict_by = by
        locked.intent_verdict_at = timezone.now()
        locked.save(update_fields=["intent_verdict", "intent_verdict_by", "intent_verdict_at"])
        audit_event_record(
            org=org, actor=actor, action="message.intent_verdict", target=locked,
            data={"verdict": verdict, "was": was, "intent": locked.predicted_intent,
                  "model_version": locked.intent_model_version},
        )
    return locked
