"""Tenant-scoped reads shared by pages, the API and jobs."""

from dataclasses import dataclass

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.utils import timezone

from agents.models import (
    CannedReply,
    Channel,
    Conversation,
    ConversationRead,
    Direction,
    Message,
    Template,
)
from flexoraa.models import Membership, Organization
from flexoraa.tenancy import role_is_managing
from leads.selectors import OPEN_STATUSES

PREVIEW_CHARS = 120
THREAD_LIMIT = 200
# How far j / k look for the next conversation of the list a thread was opened from.
NEIGHBOUR_LIMIT = 500

# The inbox's views: whose conversations a person looks at.
MINE, UNASSIGNED, ALL = "mine", "unassigned", "all"
VIEWS = (MINE, UNASSIGNED, ALL)
# ... and in which order.
URGENT, RECENT, OLDEST = "urgent", "recent", "oldest"
SORTS = (URGENT, RECENT, OLDEST)
# The manager's "assigned to" filter's value for nobody (kept for old links).
UNASSIGNED_FILTER = "none"


# --- who holds a conversation ---------------------------------------------------------------
# The conversation follows its lead: the lead's owner holds it. Only a closed lead, which keeps
# its owner, may have its conversation handed to someone else (``handed_to``). Read through
# the lead, a re-routed, queued or claimed lead never leaves its conversation behind, and
# LeadOS, which may not import this app, needs to tell it nothing.

def _closed_hand_over(prefix: str = "") -> Q:
    return (Q(**{f"{prefix}handed_to__isnull": False})
            & ~Q(**{f"{prefix}lead__status__in": OPEN_STATUSES}))


def assignee_expression(prefix: str = ""):
    """SQL for ``Conversation.assignee``: the membership id holding the conversation."""
    return Case(When(_closed_hand_over(prefix), then=F(f"{prefix}handed_to")),
                default=F(f"{prefix}lead__owner"))


def held_by(membership: Membership, prefix: str = "") -> Q:
    """The conversations ``membership`` holds (the *mine* view)."""
    return ((Q(**{f"{prefix}lead__owner": membership}) & ~_closed_hand_over(prefix))
            | (Q(**{f"{prefix}handed_to": membership}) & _closed_hand_over(prefix)))


def unassigned(prefix: str = "") -> Q:
    """The conversations nobody holds."""
    return Q(**{f"{prefix}lead__owner__isnull": True}) & ~_closed_hand_over(prefix)


def sdr_reach(membership: Membership, tiers=(), prefix: str = "") -> Q:
    """What an SDR may open: the conversations they hold, those of the leads they own (a
    closed lead's conversation handed on stays in view of its owner), and the unassigned
    ones of open leads in the tiers they may take from the queue
    (``leads.services.queue_tiers_for``), so they can read before they take one."""
    reach = held_by(membership, prefix) | Q(**{f"{prefix}lead__owner": membership})
    if tiers:
        reach |= unassigned(prefix) & Q(**{f"{prefix}lead__status__in": OPEN_STATUSES,
                                           f"{prefix}lead__tier__in": list(tiers)})
    return reach


# --- the columns the inbox shows -------------------------------------------------------------

def with_assignee(conversations):
    """Annotate ``assignee_pk``, the holder's membership id, for filters and the API."""
    if "assignee_pk" in conversations.query.annotations:
        return conversations
    return conversations.annotate(assignee_pk=assignee_expression())


def with_unread(conversations, reader: Membership | None):
    """Annotate ``unread_count``: the messages from the lead after the reader's mark
    (``read_mark``). With no reader (an API key has no person) the count is the assignee's,
    and None when nobody holds the conversation. Two correlated subqueries: the cost of a
    page does not grow with its length."""
    marks = ConversationRead.objects.filter(conversation=OuterRef("pk"))
    if reader is None:
        conversations = with_assignee(conversations)
        marks = marks.filter(membership_id=OuterRef("assignee_pk"))
    else:
        marks = marks.filter(membership=reader)
    conversations = conversations.annotate(read_mark=Coalesce(
        Subquery(marks.values("last_read_message_id")[:1]), Value(0),
        output_field=BigIntegerField()))
    unread = (Message.objects.filter(conversation=OuterRef("pk"), direction=Direction.INBOUND,
                                     pk__gt=OuterRef("read_mark"))
              .order_by().values("conversation").annotate(n=Count("pk")).values("n"))
    count = Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))
    if reader is None:
        count = Case(When(assignee_pk__isnull=True, then=Value(None)), default=count,
                     output_field=IntegerField())
    return conversations.annotate(unread_count=count)


def with_previews(conversations):
    """The last message's preview and the latest reading's intent, in the same query."""
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-id")
    read = (Message.objects.filter(conversation=OuterRef("pk"), direction=Direction.INBOUND)
            .exclude(predicted_intent="").order_by("-id"))
    return conversations.annotate(
        preview_body=Subquery(last.annotate(
            short=Substr("body", 1, PREVIEW_CHARS)).values("short")[:1]),
        preview_direction=Subquery(last.values("direction")[:1]),
        preview_kind=Subquery(last.values("kind")[:1]),
        latest_intent=Subquery(read.values("predicted_intent")[:1]),
    )


def sorted_by(conversations, sort: str, now=None):
    """``urgent``: leads still waiting for their first response first, the breached ones
    first, then the soonest deadline; the rest by latest activity. ``recent``: latest
    activity first. ``oldest``: the longest quiet first."""
    if sort == RECENT:
        return conversations.order_by(F("last_message_at").desc(nulls_last=True), "-id")
    if sort == OLDEST:
        return conversations.order_by(F("last_message_at").asc(nulls_first=True), "id")
    now = now or timezone.now()
    waiting = Q(lead__status__in=OPEN_STATUSES, lead__first_response_at__isnull=True,
                lead__first_response_due_at__isnull=False)
    breached = Q(lead__sla_breached_at__isnull=False) | Q(lead__first_response_due_at__lte=now)
    return conversations.annotate(
        urgency=Case(When(waiting & breached, then=Value(0)), When(waiting, then=Value(1)),
                     default=Value(2), output_field=IntegerField()),
        urgency_due=Case(When(waiting, then=F("lead__first_response_due_at")), default=None),
    ).order_by("urgency", F("urgency_due").asc(nulls_last=True),
               F("last_message_at").desc(nulls_last=True), "-id")


# --- the inbox ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboxQuery:
    """What a person asks of the inbox: a view, an order and filters. ``channel`` and
    ``assignee`` are ids; another tenant's simply match nothing."""

    view: str = MINE
    sort: str = URGENT
    channel: int | None = None
    unread: bool = False
    q: str = ""
    assignee: int | None = None


def _reach(org: Organization, membership: Membership | None, tiers=()):
    conversations = Conversation.objects.for_org(org).select_related(
        "lead__owner__user", "channel", "handed_to__user")
    if membership is None:
        return conversations.none()
    if not role_is_managing(membership.role):
        conversations = conversations.filter(sdr_reach(membership, tiers))
    return conversations


def inbox_conversations(org: Organization, membership: Membership, query: InboxQuery, *,
                        tiers=()):
    """The conversations of one view of the inbox, with the person's own unread count, the
    last message's preview and the latest intent, in the order asked.

    ``mine``: those the person holds. ``unassigned``: those nobody holds (for an SDR, of the
    open leads in ``tiers``, the tiers they may take). ``all``: the whole tenant, for
    managers; an SDR asking for it is given ``mine`` by the caller.
    """
    conversations = _reach(org, membership, tiers)
    if query.view == MINE:
        conversations = conversations.filter(held_by(membership))
    elif query.view == UNASSIGNED:
        conversations = conversations.filter(unassigned())
    if query.assignee is not None:
        conversations = with_assignee(conversations).filter(assignee_pk=query.assignee)
    if query.channel is not None:
        conversations = conversations.filter(channel_id=query.channel)
    text = (query.q or "").strip()
    if text:
        conversations = conversations.filter(
            Q(contact_name__icontains=text) | Q(contact_id__icontains=text)
            | Q(lead__name__icontains=text) | Q(lead__email__icontains=text)
            | Q(lead__phone__icontains=text)
        )
    conversations = with_unread(conversations, membership)
    if query.unread:
        conversations = conversations.filter(unread_count__gt=0)
    return sorted_by(with_previews(conversations), query.sort)


def inbox_neighbours(org: Organization, membership: Membership, query: InboxQuery, pk, *,
                     tiers=()) -> tuple[int | None, int | None]:
    """The conversations before and after ``pk`` in the list it was opened from (one query
    over the first ``NEIGHBOUR_LIMIT`` ids), for j / k and "done" on a thread."""
    conversations = inbox_conversations(org, membership, query, tiers=tiers)
    ids = list(conversations.values_list("pk", flat=True)[:NEIGHBOUR_LIMIT])
    if pk not in ids:
        return None, ids[0] if ids else None
    at = ids.index(pk)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def conversation_for(org: Organization, membership: Membership, pk, *,
                     tiers=()) -> Conversation:
    """One conversation in the person's reach, with their unread count and read mark.
    Another tenant's, a colleague's (for an SDR) and a missing one are the same 404."""
    found = with_unread(_reach(org, membership, tiers), membership).filter(pk=pk).first()
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


def latest_message_id(org: Organization, conversation: Conversation) -> int | None:
    return (Message.objects.for_org(org).filter(conversation=conversation)
            .order_by("-id").values_list("pk", flat=True).first())


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


# --- canned replies ----------------------------------------------------------------------------

def canned_replies(org: Organization):
    """The tenant's canned replies, by shortcut."""
    return CannedReply.objects.for_org(org).order_by("shortcut", "id")


def canned_reply(org: Organization, pk) -> CannedReply:
    """One of the tenant's canned replies; another tenant's and a missing one are one 404."""
    found = canned_replies(org).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404("No such canned reply.")
    return found
