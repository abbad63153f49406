"""The shared unread counter becomes per-person read marks, and the conversation's assignee
starts following its lead's owner.

Each conversation's unread count becomes its assignee's: their mark sits just before the last
``unread_count`` messages from the lead. The lead's owner and the tenant's managers saw the
same shared count until now, so they get the same mark (nobody wakes up to a flood of old
"unread" threads). The stored assignee is kept only where it can differ from the lead's owner
from now on: a closed lead whose conversation went to someone else."""

from collections import defaultdict

from django.db import migrations
from django.utils import timezone

OPEN_STATUSES = ("new", "contacted", "qualifying", "qualified")
MANAGING_ROLES = ("owner", "manager")
BATCH = 500


def _mark(Message, conversation) -> int:
    """The message id after which exactly ``unread_count`` messages from the lead follow."""
    messages = Message.objects.filter(conversation_id=conversation.pk)
    if not conversation.unread_count:
        return messages.order_by("-id").values_list("id", flat=True).first() or 0
    unread = list(messages.filter(direction="inbound").order_by("-id")
                  .values_list("id", flat=True)[:conversation.unread_count + 1])
    return unread[conversation.unread_count] if len(unread) > conversation.unread_count else 0


def forwards(apps, schema_editor):
    Conversation = apps.get_model("agents", "Conversation")
    ConversationRead = apps.get_model("agents", "ConversationRead")
    Message = apps.get_model("agents", "Message")
    Membership = apps.get_model("flexoraa", "Membership")
    managers = defaultdict(set)
    for org_id, pk in Membership.objects.filter(role__in=MANAGING_ROLES).values_list(
            "organization_id", "pk"):
        managers[org_id].add(pk)
    now = timezone.now()
    rows, following = [], []
    conversations = Conversation.objects.select_related("lead").order_by("pk")
    for conversation in conversations.iterator(chunk_size=BATCH):
        lead = conversation.lead
        if lead.status in OPEN_STATUSES or conversation.assignee_id == lead.owner_id:
            following.append(conversation.pk)
        mark = _mark(Message, conversation)
        if not mark:
            continue
        readers = {conversation.assignee_id, lead.owner_id} | managers[conversation.organization_id]
        rows += [ConversationRead(organization_id=conversation.organization_id,
                                  conversation_id=conversation.pk, membership_id=reader,
                                  last_read_message_id=mark, read_at=now)
                 for reader in sorted(filter(None, readers))]
        if len(rows) >= BATCH:
            ConversationRead.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    ConversationRead.objects.bulk_create(rows, ignore_conflicts=True)
    for start in range(0, len(following), BATCH):
        Conversation.objects.filter(pk__in=following[start:start + BATCH]).update(assignee=None)


def backwards(apps, schema_editor):
    """The shared counter again: the assignee's unread, the assignee the lead's owner."""
    Conversation = apps.get_model("agents", "Conversation")
    ConversationRead = apps.get_model("agents", "ConversationRead")
    Message = apps.get_model("agents", "Message")
    for conversation in Conversation.objects.select_related("lead").iterator(chunk_size=BATCH):
        assignee = conversation.assignee_id
        if assignee is None or conversation.lead.status in OPEN_STATUSES:
            assignee = conversation.lead.owner_id
        mark = (ConversationRead.objects.filter(conversation_id=conversation.pk,
                                                membership_id=assignee)
                .values_list("last_read_message_id", flat=True).first() or 0)
        unread = Message.objects.filter(conversation_id=conversation.pk, direction="inbound",
                                        id__gt=mark).count()
        Conversation.objects.filter(pk=conversation.pk).update(assignee=assignee,
                                                               unread_count=unread)


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0002_read_state_and_canned_replies'),
        ('leads', '0002_alter_leadevent_kind'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
