"""What an SDR does in the inbox besides sending: reading a conversation, handing it to a
colleague, and judging the NLU's reading of a message (the ground truth for drift)."""

import logging

from django.db import transaction
from django.utils import timezone

from agents.models import Conversation, Direction, IntentVerdict, Message
from flexoraa.actors import Actor
from flexoraa.errors import NotFound, PermissionDenied, ValidationFailed
from flexoraa.models import Membership, Organization
from flexoraa.selectors import actor_membership
from flexoraa.services import audit_event_record
from flexoraa.tenancy import role_is_managing
from leads import services as lead_services

logger = logging.getLogger(__name__)


def conversation_mark_read(*, org: Organization, conversation: Conversation,
                           actor: Actor) -> Conversation:
    """Clear the unread count. Opening a thread calls this on every view, so it writes only
    when there is something unread, and records no audit event (reading changes no data a
    manager answers for). Raises ``NotFound`` across tenants."""
    if conversation.organization_id != org.pk:
        raise NotFound("No such conversation.")
    if conversation.unread_count:
        with transaction.atomic():
            Conversation.objects.for_org(org).filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0
    return conversation


def conversation_assign(*, org: Organization, conversation: Conversation, assignee,
                        actor: Actor) -> Conversation:
    """Hand a conversation to a member: a manager to anyone, an SDR their own conversation to
    a colleague. ``assignee`` is a membership or its id.

    When the conversation followed its lead's owner (or the lead had none), the open lead
    moves with it through ``lead_reassign``, so the new person owns both.

    Raises ``NotFound`` across tenants, ``PermissionDenied`` when an SDR hands over a
    conversation that is not theirs, ``ValidationFailed`` when the assignee is not an
    available member of this tenant.
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
        if not role_is_managing(by.role) and by.pk not in (current.assignee_id, lead.owner_id):
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
        previous = current.assignee_id
        if previous == target.pk:
            return current
        # A closed lead keeps its owner (its history is settled); the conversation still moves.
        if lead.is_open and lead.owner_id in (None, previous) and lead.owner_id != target.pk:
            lead_services.lead_reassign(org=org, lead=lead, owner_id=target.pk, actor=actor,
                                        note="Moved with its conversation in the inbox.")
        # Locked after the lead, the order every lead-then-conversation writer takes.
        locked = Conversation.objects.for_org(org).select_for_update(of=("self",)).get(
            pk=conversation.pk)
        locked.assignee = target
        locked.save(update_fields=["assignee"])
        audit_event_record(
            org=org, actor=actor, action="conversation.assigned", target=locked,
            data={"from": previous, "to": target.pk,
                  "transfer": not role_is_managing(by.role)},
        )
    logger.info("conversation assigned", extra={"org_id": org.pk,
                                                "conversation_id": locked.pk,
                                                "assignee_id": target.pk})
    return Conversation.objects.for_org(org).select_related(
        "lead", "channel", "assignee__user").get(pk=locked.pk)


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
