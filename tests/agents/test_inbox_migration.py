"""The move away from the shared unread counter: each conversation's count becomes its
assignee's unread (and the same for the lead's owner and the managers, who all saw that one
count), and the stored assignee stays only where a closed lead's conversation went to
someone else. Run through the real migrations, forwards and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from agents.models import Conversation, ConversationRead
from flexoraa.models import Membership
from tests.agents.inbox_support import unread_of

BEFORE = [("agents", "0002_read_state_and_canned_replies")]
AFTER = [("agents", "0004_conversation_assignee_follows_lead")]


def migrate(targets):
    """Move agents to ``targets``; the models as they are then (every other app at its
    latest, as in the database)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "agents"]
    return executor.loader.project_state(others + targets).apps


def old_world(apps):
    """Two conversations as the shared counter left them."""
    Organization = apps.get_model("flexoraa", "Organization")
    User = apps.get_model("auth", "User")
    Membership = apps.get_model("flexoraa", "Membership")
    Lead = apps.get_model("leads", "Lead")
    Channel = apps.get_model("agents", "Channel")
    Conversation = apps.get_model("agents", "Conversation")
    Message = apps.get_model("agents", "Message")
    org = Organization.objects.create(name="Acme", slug="acme-migration")
    member = {role: Membership.objects.create(
        organization=org, role=role, user=User.objects.create(username=f"{role}-m"))
        for role in ("sdr", "manager")}
    other_sdr = Membership.objects.create(organization=org, role="sdr",
                                          user=User.objects.create(username="other-m"))
    channel = Channel.objects.create(organization=org, kind="whatsapp", external_id="m-1")
    made = {}
    for name, status, assignee, unread in (("open", "new", other_sdr, 2),
                                           ("closed", "won", other_sdr, 0)):
        lead = Lead.objects.create(organization=org, name=name, source="api", status=status,
                                   tier="warm", score=50, verification_status="verified",
                                   owner=member["sdr"], phone=f"+9198000{len(made)}0000")
        conversation = Conversation.objects.create(
            organization=org, channel=channel, lead=lead, contact_id=name, assignee=assignee,
            unread_count=unread)
        for n in range(3):
            Message.objects.create(
                organization=org, conversation=conversation, direction="inbound",
                sender="lead", body=f"{name} {n}", client_id=f"{name}-{n}",
                status="received", created_at=timezone.now())
        made[name] = conversation.pk
    return made, member, other_sdr.pk


@pytest.mark.django_db(transaction=True)
def test_unread_counts_become_marks_and_the_assignee_follows_the_lead_and_back():
    apps = migrate(BEFORE)
    made, member, other_sdr_id = old_world(apps)

    migrate(AFTER)

    opened = Conversation.objects.select_related("lead").get(pk=made["open"])
    closed = Conversation.objects.select_related("lead").get(pk=made["closed"])
    # The open lead's conversation now follows the lead's owner (the drift is gone).
    assert opened.handed_to_id is None and opened.assignee_id == member["sdr"].pk
    # The closed lead's conversation stays with whom it was handed to.
    assert closed.handed_to_id == other_sdr_id and closed.assignee_id == other_sdr_id
    sdr, manager = (Membership.objects.get(pk=m.pk) for m in (member["sdr"], member["manager"]))
    for reader in (sdr, manager):
        assert unread_of(opened, reader) == 2
        assert unread_of(closed, reader) == 0
    assert ConversationRead.objects.filter(conversation_id=made["open"]).count() == 3

    apps = migrate(BEFORE)
    Old = apps.get_model("agents", "Conversation")
    back = {c.pk: (c.assignee_id, c.unread_count) for c in Old.objects.all()}
    assert back[made["open"]] == (member["sdr"].pk, 2)
    assert back[made["closed"]] == (other_sdr_id, 0)
    migrate(AFTER)
