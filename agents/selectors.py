"""Tenant-scoped reads shared by pages, the API and jobs."""

from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Substr
from django.http import Http404

from agents.models import Channel, Conversation, Message, Template
from flexoraa.models import Membership, Organization
from flexoraa.tenancy import role_is_managing

PREVIEW_CHARS = 120
THREAD_LIMIT = 200
UNASSIGNED = "none"


def sdr_reach(membership: Membership, prefix: str = "") -> Q:
    """An SDR works the conversations assigned to them and those of the leads they own."""
    return Q(**{f"{prefix}assignee": membership}) | Q(**{f"{prefix}lead__owner": membership})


def _conversations(org: Organization, membership: Membership):
    conversations = Conversation.objects.for_org(org).select_related(
        "lead", "channel", "assignee__user"
    )
    if membership is None:
        return conversations.none()
    if not role_is_managing(membership.role):
        conversations = conversations.filter(sdr_reach(membership))
    return conversations


def inbox_conversations(org: Organization, membership: Membership, *, mine_only: bool,
                        channel=None, unread_only: bool = False, q: str = "",
                        assignee=None):
    """The conversations a person works, newest activity first, each with a preview of its
    last message (``preview_body``, ``preview_direction``, ``preview_kind``) in the same query.

    SDRs always get only their own (assigned to them, or the lead is theirs). A manager sees
    the whole tenant; ``mine_only`` narrows it to those assigned to them, and ``assignee`` (a
    membership id or ``"none"``) to one person's or the unassigned ones.
    """
    conversations = _conversations(org, membership)
    if mine_only and role_is_managing(getattr(membership, "role", None)):
        conversations = conversations.filter(assignee=membership)
    if assignee == UNASSIGNED:
        conversations = conversations.filter(assignee__isnull=True)
    elif assignee:
        conversations = conversations.filter(assignee=assignee)
    if channel:
        conversations = conversations.filter(channel=channel)
    if unread_only:
        conversations = conversations.filter(unread_count__gt=0)
    text = (q or "").strip()
    if text:
        conversations = conversations.filter(
            Q(contact_name__icontains=text) | Q(contact_id__icontains=text)
            | Q(lead__name__icontains=text) | Q(lead__email__icontains=text)
            | Q(lead__phone__icontains=text)
        )
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-id")
    return conversations.annotate(
        preview_body=Subquery(last.annotate(
            short=Substr("body", 1, PREVIEW_CHARS)).values("short")[:1]),
        preview_direction=Subquery(last.values("direction")[:1]),
        preview_kind=Subquery(last.values("kind")[:1]),
    ).order_by("-last_message_at", "-id")


def conversation_for(org: Organization, membership: Membership, pk) -> Conversation:
    """One conversation in the person's reach. Another tenant's, a colleague's (for an SDR)
    and a missing one are the same 404."""
    found = _conversations(org, membership).filter(pk=pk).first()
    if found is None:
        raise Http404("No such conversation.")
    return found


def thread_messages(org: Organization, conversation: Conversation) -> list[Message]:
    """The conversation's latest messages, oldest first, with who wrote and judged them."""
    latest = (
        Message.objects.for_org(org).filter(conversation=conversation)
        .select_related("author__user", "template", "intent_verdict_by__user")
        .order_by("-created_at", "-id")[:THREAD_LIMIT]
    )
    return list(reversed(list(latest)))


def client_id_used(org: Organization, client_id: str) -> bool:
    """Whether a message of the tenant was sent with this idempotency ``client_id``."""
    return Message.objects.for_org(org).filter(client_id=client_id).exists()


def thread_message(org: Organization, conversation: Conversation, pk) -> Message:
    found = (Message.objects.for_org(org).filter(conversation=conversation, pk=pk)
             .select_related("author__user", "template", "intent_verdict_by__user").first())
    if found is None:
        raise Http404("No such message.")
    return found


def templates_for(conversation: Conversation):
    """The approved templates of the conversation's channel."""
    return Template.objects.for_org(conversation.organization_id).filter(
        channel_id=conversation.channel_id, approved=True
    ).order_by("name", "language", "id")


def inbox_channels(org: Organization):
    return Channel.objects.for_org(org).order_by("kind", "name", "id")


def assignable_members(org: Organization, *, exclude=None):
    """Who may take a conversation: the tenant's available members."""
    members = Membership.objects.for_org(org).filter(is_available=True).select_related(
        "user").order_by("role", "user__username")
    if exclude is not None:
        members = members.exclude(pk=exclude.pk)
    return members


def inbox_members(org: Organization):
    """Everyone of the tenant, for the manager's assignee filter."""
    return Membership.objects.for_org(org).select_related("user").order_by("role",
                                                                           "user__username")
