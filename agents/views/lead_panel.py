"""The lead's conversation on LeadOS's lead page: its latest messages (newest at the bottom,
older ones on request) and the inbox's reply box, or, for a lead nobody has a conversation
with yet, a first email from the tenant's mailbox.

LeadOS may not import AgentOS, so this panel is registered with the core's lead-page registry
(``flexoraa.lead_panels``) from ``AgentsConfig.ready()``. Replies go through the thread's own
reply handling (``ReplyView.send``: the window, the approved templates, the schedule field,
the one send service); only the answer differs, the panel's parts instead of the thread's.
Reading the lead page marks nothing read: the inbox keeps each person's read state.
"""

import uuid

from django.contrib import messages
from django.db.models import F, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from agents.models import Conversation, Message, MessageStatus
from agents.services import compose
from agents.views.common import contact_name, sender_words, window_state
from agents.views.thread import ConversationPageMixin, ReplyView
from flexoraa import lead_panels
from flexoraa.errors import FlexoraaError
from flexoraa.models import Membership, Organization
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import selectors as lead_selectors

# Messages shown at once; "older" loads as many again.
PAGE = 20
LEAD_CHANGED = "lead-changed"  # tells the lead page its own cards may have changed


def _can_read(membership: Membership, lead, conversation=None) -> bool:
    """Who sees a lead's conversation on its page: managers, the lead's owner and whoever
    holds the conversation (a colleague a note only mentions reads the lead, not this)."""
    if membership is None:
        return False
    if role_is_managing(membership.role) or lead.owner_id == membership.pk:
        return True
    return conversation is not None and conversation.assignee_id == membership.pk


def _window(org: Organization, conversation: Conversation, *, before: Message | None = None
            ) -> tuple[list[Message], bool]:
    """Up to ``PAGE`` messages before ``before`` (the latest without it), oldest first, and
    whether older ones remain: one query."""
    found = (Message.objects.for_org(org).filter(conversation=conversation)
             .select_related("author__user", "template").order_by("-created_at", "-id"))
    if before is not None:
        found = found.filter(Q(created_at__lt=before.created_at)
                             | Q(created_at=before.created_at, pk__lt=before.pk))
    page = list(found[:PAGE + 1])
    older = len(page) > PAGE
    page = list(reversed(page[:PAGE]))
    for message in page:
        message.who = sender_words(message, conversation)
    return page, older


def _page_for(org: Organization, membership: Membership) -> ConversationPageMixin:
    """The thread's page logic (its reply box's context: free text while the window is open,
    the approved templates when it is closed) for a panel built outside the thread's view."""
    page = ConversationPageMixin()
    page.organization, page.membership = org, membership
    return page


def conversation_context(org: Organization, membership: Membership, lead,
                         conversations: list[Conversation], chosen: Conversation | None,
                         **reply) -> dict:
    """The panel's context with ``chosen`` open: its latest messages and its reply box."""
    context = {"lead": lead, "conversations": conversations, "conversation": chosen,
               "can_read": True, "page_size": PAGE}
    if chosen is None:
        return context
    now = timezone.now()
    chosen.who = contact_name(chosen)
    chosen.window = window_state(chosen, now)
    thread, older = _window(org, chosen)
    context.update({"thread": thread, "has_older": older,
                    **_page_for(org, membership).reply_context(chosen, **reply)})
    return context


def _lead_conversations(org: Organization, lead) -> list[Conversation]:
    conversations = list(
        Conversation.objects.for_org(org).filter(lead=lead).select_related("channel")
        .order_by(F("last_message_at").desc(nulls_last=True), "-id"))
    for conversation in conversations:
        conversation.lead = lead  # the page's own copy: no query per conversation
    return conversations


def lead_conversation_context(org: Organization, membership: Membership, lead) -> dict:
    """The lead page's conversation panel (``flexoraa.lead_panels``): the most recent of the
    lead's conversations with its latest messages and reply box; or, with none, the first
    email from the tenant's mailbox. A fixed number of queries: the conversations, the
    messages, then the templates (window closed) or the mailbox (no conversation yet)."""
    conversations = _lead_conversations(org, lead)
    chosen = conversations[0] if conversations else None
    if not _can_read(membership, lead, chosen):
        return {"lead": lead, "can_read": False}
    if chosen is not None:
        return conversation_context(org, membership, lead, conversations, chosen)
    mailbox = compose.mailbox_for(org) if lead.email else None
    return {"lead": lead, "can_read": True, "conversations": [], "conversation": None,
            "mailbox": mailbox, "compose_subject": f"Your enquiry with {org.name}",
            "client_id": uuid.uuid4().hex,
            "is_manager": role_is_managing(membership.role)}


def register_lead_panel() -> None:
    lead_panels.lead_panel_register(lead_panels.LeadPanel(
        key="conversation", template="agents/_lead_conversation.html",
        context_fn=lead_conversation_context, order=10,
    ))


# --- the panel's own requests ------------------------------------------------------------------

class LeadConversationMixin(ConversationPageMixin):
    """A conversation the person may open from its lead's page; anything else is a 404."""

    def get_conversation(self, pk):
        conversation = super().get_conversation(pk)
        if not _can_read(self.membership, conversation.lead, conversation):
            raise Http404("No such conversation.")
        return conversation

    def panel_context(self, conversation, **reply) -> dict:
        lead = conversation.lead
        conversations = _lead_conversations(self.organization, lead)
        chosen = next((c for c in conversations if c.pk == conversation.pk), conversation)
        return conversation_context(self.organization, self.membership, lead, conversations,
                                    chosen, **reply)


class LeadConversationView(LeadConversationMixin, View):
    """One of the lead's conversations, for the panel's channel switch."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        if not request.htmx:
            return redirect("inbox-thread", pk=conversation.pk)
        return render(request, "agents/_lead_conversation.html",
                      self.panel_context(conversation))


class LeadConversationOlderView(LeadConversationMixin, View):
    """The messages before ``?before=<message id>``, and a way to older ones still."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        before_id = request.GET.get("before", "")
        before = None
        if before_id.isdigit() and len(before_id) <= 18:
            before = Message.objects.for_org(self.organization).filter(
                conversation=conversation, pk=int(before_id)).first()
        if before is None:
            raise Http404("No such message.")
        if not request.htmx:
            return redirect("inbox-thread", pk=conversation.pk)
        thread, older = _window(self.organization, conversation, before=before)
        return render(request, "agents/_lead_conversation_older.html",
                      {"conversation": conversation, "thread": thread, "has_older": older})


class LeadConversationReplyView(LeadConversationMixin, ReplyView):
    """The thread's reply, sent from the lead page: the same checks and the one send service
    (``ReplyView.send``); the answer is the panel's reply box and messages, and the lead page
    is told its cards may have changed (a first reply makes a new lead contacted)."""

    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        data = request.POST
        template_id, params, typed = self.typed(data)
        now = timezone.now()
        conversation.window = window_state(conversation, now)
        try:
            message = self.send(conversation, data, template_id, params)
        except FlexoraaError as error:
            if not request.htmx:
                messages.error(request, page_words(error))
                return redirect("leads:detail", pk=conversation.lead_id)
            # A 200, so htmx swaps the box with the reason and what was typed in it.
            return render(request, "agents/_lead_conversation_reply.html",
                          {"conversation": conversation, "lead": conversation.lead,
                           **self.reply_context(conversation, error=page_words(error),
                                                **typed)})
        if message.status == MessageStatus.SCHEDULED:
            done = f"Scheduled for {timezone.localtime(message.scheduled_for):%d %b, %H:%M}."
        else:
            done = "Sent."
        if not request.htmx:
            messages.success(request, done)
            return redirect("leads:detail", pk=conversation.lead_id)
        conversation = self.get_conversation(pk)
        context = self.panel_context(conversation, done=done)
        response = render(request, "agents/_lead_conversation_sent.html", context)
        response["HX-Trigger"] = LEAD_CHANGED
        return response


class LeadEmailView(TenantPageMixin, View):
    """The first email to a lead with no conversation yet, from the tenant's mailbox."""

    def post(self, request, lead_pk):
        org = self.organization
        if role_is_managing(self.membership.role):
            leads = lead_selectors.leads_for_org(org)
        else:
            leads = lead_selectors.leads_for_owner(org, self.membership)
        lead = get_object_or_404(leads, pk=lead_pk)
        data = request.POST
        client_id = data.get("client_id", "")
        try:
            client_id = uuid.UUID(client_id).hex
        except ValueError:
            client_id = None
        try:
            compose.lead_email_start(
                org=org, lead=lead, author=self.membership, subject=data.get("subject", ""),
                text=data.get("text", ""), actor=self.actor, client_id=client_id)
        except FlexoraaError as error:
            if not request.htmx:
                messages.error(request, page_words(error))
                return redirect("leads:detail", pk=lead.pk)
            context = lead_conversation_context(org, self.membership, lead)
            context.update({"compose_error": page_words(error),
                            "compose_subject": data.get("subject", ""),
                            "compose_text": data.get("text", ""),
                            "client_id": client_id or context.get("client_id")})
            return render(request, "agents/_lead_conversation.html", context)
        if not request.htmx:
            messages.success(request, "Email queued.")
            return redirect("leads:detail", pk=lead.pk)
        lead = get_object_or_404(leads, pk=lead_pk)
        context = lead_conversation_context(org, self.membership, lead)
        context["reply_done"] = "Email queued."
        response = render(request, "agents/_lead_conversation.html", context)
        response["HX-Trigger"] = LEAD_CHANGED
        return response


# How a refusal names a field in the panel (the API names them by their keys).
FIELD_WORDS = {"scheduled_for": "Schedule for", "text": "Message", "subject": "Subject",
               "email": "Email", "template": "Template", "template_params": "Parameters"}


def page_words(error: FlexoraaError) -> str:
    """A refusal as the panel shows it: "Subject: …", not "subject: …"."""
    field, _, rest = error.message.partition(": ")
    if rest and field in FIELD_WORDS:
        return f"{FIELD_WORDS[field]}: {rest}"
    return error.message
