"""The inbox's reads and small use cases: who sees which conversation, reading, assigning
and transferring, and the verdict on a predicted intent."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from agents import selectors
from agents.models import Conversation, ConversationRead, Direction
from agents.selectors import ALL, MINE, UNASSIGNED, InboxQuery
from agents.services import inbox
from flexoraa.actors import Actor
from flexoraa.errors import NotFound, PermissionDenied, ValidationFailed
from flexoraa.models import AuditEvent, Role
from leads import services as lead_services
from leads.models import Lead, Status
from tests.agents.factories import make_channel, make_conversation, make_message, make_template
from tests.factories import UserFactory, make_membership
from tests.leads.pages_support import lead_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5,
                           user=UserFactory(username="ravi-other-sdr"))


def conversation_of(owner, **values):
    lead = lead_of(owner, **values)
    return make_conversation(owner.organization, lead=lead,
                             last_inbound_at=timezone.now() - timedelta(hours=1))


# --- selectors ----------------------------------------------------------------------------

def test_the_list_carries_a_preview_of_the_last_message(org, sdr):
    conversation = conversation_of(sdr)
    now = timezone.now()
    make_message(org, conversation, body="first", at=now - timedelta(minutes=5))
    make_message(org, conversation, direction=Direction.OUTBOUND, body="x" * 500, at=now)

    (row,) = selectors.inbox_conversations(org, sdr, InboxQuery(view=MINE))

    assert row.preview_body == "x" * selectors.PREVIEW_CHARS
    assert row.preview_direction == "outbound"


def test_an_sdr_reaches_their_own_and_handed_over_conversations_only(org, sdr, other_sdr,
                                                                     manager):
    owned = conversation_of(sdr)
    handed = conversation_of(other_sdr)
    lead_services.lead_update(org=org, lead=handed.lead, actor=Actor.for_member(manager),
                              status=Status.WON)
    Conversation.objects.filter(pk=handed.pk).update(handed_to=sdr)
    colleagues = conversation_of(other_sdr)

    seen = set(selectors.inbox_conversations(org, sdr, InboxQuery(view=MINE))
               .values_list("pk", flat=True))

    assert seen == {owned.pk, handed.pk}
    assert selectors.conversation_for(org, sdr, owned.pk) == owned
    with pytest.raises(Http404):
        selectors.conversation_for(org, sdr, colleagues.pk)
    everyone = selectors.inbox_conversations(org, manager, InboxQuery(view=ALL))
    assert everyone.count() == 3
    assert selectors.inbox_conversations(org, manager, InboxQuery(view=MINE)).count() == 0
    assert list(selectors.inbox_conversations(org, manager,
                                              InboxQuery(view=UNASSIGNED))) == []


def test_another_tenants_conversation_is_not_found(org, other_org, manager):
    outsider = make_membership(other_org)
    theirs = conversation_of(outsider)
    with pytest.raises(Http404):
        selectors.conversation_for(org, manager, theirs.pk)
    assert selectors.inbox_conversations(org, manager, InboxQuery(view=ALL)).count() == 0


def test_only_approved_templates_of_the_conversations_channel_are_offered(org, sdr):
    conversation = conversation_of(sdr)
    approved = make_template(org, conversation.channel, name="approved_one")
    pending = make_template(org, conversation.channel, name="pending_one")
    pending.approved = False
    pending.save(update_fields=["approved"])
    make_template(org, make_channel(org), name="other_channel")

    assert list(selectors.templates_for(conversation)) == [approved]


def test_the_thread_is_oldest_first(org, sdr):
    conversation = conversation_of(sdr)
    now = timezone.now()
    later = make_message(org, conversation, body="later", at=now)
    earlier = make_message(org, conversation, body="earlier", at=now - timedelta(minutes=1))
    assert selectors.thread_messages(org, conversation) == [earlier, later]


# --- reading ------------------------------------------------------------------------------

def test_marking_read_clears_only_the_readers_unread_and_refuses_another_tenant(
    org, other_org, sdr, manager
):
    conversation = conversation_of(sdr)
    make_message(org, conversation, body="one")
    last = make_message(org, conversation, body="two")

    inbox.conversation_mark_read(org=org, conversation=conversation, actor=Actor.for_member(sdr))

    assert unread_of(org, sdr, conversation) == 0
    assert unread_of(org, manager, conversation) == 2
    assert ConversationRead.objects.get(membership=sdr).last_read_message_id == last.pk
    with pytest.raises(NotFound):
        inbox.conversation_mark_read(org=other_org, conversation=conversation,
                                     actor=Actor.for_member(sdr))


def unread_of(org, membership, conversation):
    return selectors.conversation_for(org, membership, conversation.pk).unread_count


# --- assigning ----------------------------------------------------------------------------

def test_a_manager_reassigns_and_the_lead_that_followed_the_conversation_moves_too(
    org, manager, sdr, other_sdr
):
    conversation = conversation_of(sdr)

    moved = inbox.conversation_assign(org=org, conversation=conversation, assignee=other_sdr,
                                      actor=Actor.for_member(manager))

    assert moved.assignee_id == other_sdr.pk
    assert Lead.objects.get(pk=conversation.lead_id).owner_id == other_sdr.pk
    event = AuditEvent.objects.for_org(org).filter(action="conversation.assigned").get()
    assert event.data == {"from": sdr.pk, "to": other_sdr.pk, "transfer": False}
    assert event.actor_user_id == manager.user_id
    assert AuditEvent.objects.for_org(org).filter(action="lead.reassigned").exists()


def test_a_closed_lead_stays_put_while_its_conversation_moves(org, manager, sdr, other_sdr):
    conversation = conversation_of(sdr)
    lead_services.lead_update(org=org, lead=conversation.lead,
                              actor=Actor.for_member(sdr), status=Status.WON)

    inbox.conversation_assign(org=org, conversation=conversation, assignee=other_sdr,
                              actor=Actor.for_member(manager))

    assert Conversation.objects.get(pk=conversation.pk).assignee_id == other_sdr.pk
    assert Lead.objects.get(pk=conversation.lead_id).owner_id == sdr.pk


def test_an_sdr_transfers_their_own_conversation_but_not_a_colleagues(org, sdr, other_sdr):
    mine = conversation_of(sdr)
    theirs = conversation_of(other_sdr)

    inbox.conversation_assign(org=org, conversation=mine, assignee=other_sdr,
                              actor=Actor.for_member(sdr))

    assert Conversation.objects.get(pk=mine.pk).assignee_id == other_sdr.pk
    event = AuditEvent.objects.for_org(org).filter(action="conversation.assigned").get()
    assert event.data["transfer"] is True
    with pytest.raises(PermissionDenied, match="only transfer a conversation that is yours"):
        inbox.conversation_assign(org=org, conversation=theirs, assignee=sdr,
                                  actor=Actor.for_member(sdr))


def test_the_assignee_must_be_an_available_member_of_this_tenant(
    org, other_org, manager, sdr, other_sdr
):
    conversation = conversation_of(sdr)
    outsider = make_membership(other_org)
    with pytest.raises(ValidationFailed, match="No member of this organization"):
        inbox.conversation_assign(org=org, conversation=conversation, assignee=outsider,
                                  actor=Actor.for_member(manager))
    away = make_membership(org, is_available=False)
    with pytest.raises(ValidationFailed, match="away"):
        inbox.conversation_assign(org=org, conversation=conversation, assignee=away,
                                  actor=Actor.for_member(manager))
    with pytest.raises(ValidationFailed, match="Choose who"):
        inbox.conversation_assign(org=org, conversation=conversation, assignee="",
                                  actor=Actor.for_member(manager))
    with pytest.raises(NotFound):
        inbox.conversation_assign(org=other_org, conversation=conversation,
                                  assignee=other_sdr, actor=Actor.for_member(manager))
    assert Conversation.objects.get(pk=conversation.pk).assignee_id == sdr.pk
    assert not AuditEvent.objects.for_org(org).filter(action="conversation.assigned").exists()


# --- intent verdicts ----------------------------------------------------------------------

def test_a_verdict_records_who_and_when_and_can_change(org, sdr):
    conversation = conversation_of(sdr)
    message = make_message(org, conversation, predicted_intent="high")

    judged = inbox.intent_verdict_record(org=org, message=message, verdict="right",
                                         actor=Actor.for_member(sdr))
    assert judged.intent_verdict == "right" and judged.intent_verdict_by_id == sdr.pk
    assert judged.intent_verdict_at is not None

    changed = inbox.intent_verdict_record(org=org, message=message, verdict="wrong",
                                          actor=Actor.for_member(sdr))
    assert changed.intent_verdict == "wrong"
    events = list(AuditEvent.objects.for_org(org).filter(action="message.intent_verdict")
                  .values_list("data", flat=True))
    assert [e["verdict"] for e in events] == ["right", "wrong"]
    assert events[1]["was"] == "right" and events[1]["intent"] == "high"


def test_only_inbound_messages_with_a_predicted_intent_are_judged(org, other_org, sdr):
    conversation = conversation_of(sdr)
    ours = make_message(org, conversation, direction=Direction.OUTBOUND)
    unread = make_message(org, conversation, predicted_intent="")
    judged = make_message(org, conversation, predicted_intent="low")

    for message in (ours, unread):
        with pytest.raises(ValidationFailed, match="predicted intent"):
            inbox.intent_verdict_record(org=org, message=message, verdict="right",
                                        actor=Actor.for_member(sdr))
    with pytest.raises(ValidationFailed, match="right or wrong"):
        inbox.intent_verdict_record(org=org, message=judged, verdict="maybe",
                                    actor=Actor.for_member(sdr))
    with pytest.raises(NotFound):
        inbox.intent_verdict_record(org=other_org, message=judged, verdict="right",
                                    actor=Actor.for_member(sdr))
    judged.refresh_from_db()
    assert judged.intent_verdict == ""
