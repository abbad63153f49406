"""A conversation's thread and what an SDR does there: reply (free text while the window is
open, an approved template when it is closed), hand it to a colleague, judge the NLU's
reading of a message, mark it read.

Every action works as a plain form POST (then a redirect, or the page again with the problem
beside the form and a 4xx status) and with htmx (the changed part comes back; a refusal comes
back with its 4xx status, which the thread lets htmx swap in)."""

import uuid
from functools import cached_property

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from agents import canned, selectors
from agents.errors import MessageInvalid
from agents.models import Direction, MessageStatus, SenderKind
from agents.services import inbox, outbound
from agents.templates_text import template_render
from agents.views.common import (
    contact_name,
    inbox_badges,
    member_name,
    sender_words,
    window_state,
)
from agents.views.lists import inbox_query, query_string, sdr_tiers
from flexoraa.errors import FlexoraaError, PermissionDenied
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import services as lead_services

MAX_PARAMS = 20


class ScheduleField(forms.Form):
    """Only reads the optional schedule-for time, in the tenant's time zone."""

    scheduled_for = forms.DateTimeField(
        required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"invalid": "Give the time as a date and a time, e.g. 2025-03-01 09:30."},
    )


def _params(data) -> list[str]:
    """The template parameters ``param1``, ``param2`` …: named by position, because htmx
    puts the input that triggered a request first, so repeated names would lose the order."""
    params = []
    for number in range(1, MAX_PARAMS + 1):
        if f"param{number}" not in data:
            break
        params.append(data[f"param{number}"].strip())
    return params


# How a refusal names a field on the page (the API names them by their keys).
FIELD_WORDS = {"scheduled_for": "Schedule for", "text": "Message"}
BLANK_REPLY = "The message is empty: write something before you send it."
NOT_TAKEN = ("Nobody holds this conversation yet: take it (or ask a manager to assign it) "
             "before you reply.")


def page_words(error: FlexoraaError) -> str:
    """A service's refusal as a page shows it: "Schedule for: …", not "scheduled_for: …"."""
    if error.message == "text: write a message.":
        return BLANK_REPLY
    field, _, rest = error.message.partition(": ")
    if rest and field in FIELD_WORDS:
        return f"{FIELD_WORDS[field]}: {rest}"
    return error.message


class ConversationPageMixin(TenantPageMixin):
    """A conversation in the person's reach; anything else is the same 404."""

    def get_conversation(self, pk):
        return selectors.conversation_for(self.organization, self.membership, pk,
                                          tiers=self.tiers)

    @cached_property
    def tiers(self) -> list[str]:
        """An SDR also opens the unassigned conversations of the tiers they may take."""
        return sdr_tiers(self.organization, self.membership)

    @property
    def is_manager(self) -> bool:
        return role_is_managing(self.membership.role)

    def may_reply(self, conversation) -> bool:
        """Anyone who reaches a conversation someone holds may reply; an SDR reading an
        unassigned one takes it first."""
        return self.is_manager or conversation.assignee_id is not None

    def list_query(self, data):
        return inbox_query(data, managing=self.is_manager)[0]

    def message_context(self, message, conversation) -> None:
        message.who = sender_words(message, conversation)
        message.judgeable = (message.direction == Direction.INBOUND
                             and bool(message.predicted_intent))
        if message.intent_verdict_by_id:
            message.judged_by = member_name(message.intent_verdict_by)

    def thread_context(self, conversation, *, reply=None, thread=None, **extra) -> dict:
        org = self.organization
        now = timezone.now()
        conversation.who = contact_name(conversation)
        if thread is None:
            thread = selectors.thread_messages(org, conversation)
        # The latest reading is in the thread already: no query for the intent badge.
        conversation.latest_intent = next(
            (m.predicted_intent for m in reversed(thread)
             if m.direction == Direction.INBOUND and m.predicted_intent), "")
        inbox_badges(conversation, now)
        for message in thread:
            self.message_context(message, conversation)
        can_assign = self.is_manager or self.membership.pk in (
            conversation.assignee_id, conversation.lead.owner_id)
        members = []
        if can_assign:
            members = [m for m in selectors.assignable_members(org)
                       if m.pk != conversation.assignee_id
                       and (self.is_manager or m.pk != self.membership.pk)]
        context = {
            "conversation": conversation, "lead": conversation.lead, "thread": thread,
            "can_assign": can_assign, "members": members, "managing": self.is_manager,
            "assignee_name": member_name(conversation.assignee),
            "may_reply": self.may_reply(conversation),
            "may_take": conversation.assignee_id is None and conversation.lead.is_open,
        }
        context.update(self.reply_context(conversation, **(reply or {})))
        context.update(extra)
        return context

    def canned_context(self, conversation) -> list[dict]:
        """The tenant's canned replies with this lead's names filled in."""
        names = canned.Names(
            lead_name=conversation.lead.name or conversation.contact_name,
            my_name=member_name(self.membership), company=self.organization.name)
        return [{"id": reply.pk, "shortcut": reply.shortcut, "title": reply.title,
                 "body": canned.fill(reply.body, names)}
                for reply in selectors.canned_replies(self.organization)]

    def reply_context(self, conversation, *, text="", template_id="", params=None,
                      scheduled_for="", error="", client_id=None, done="") -> dict:
        state = conversation.window
        templates, template, replies = [], None, []
        if not state.free_text:
            templates = list(selectors.templates_for(conversation))
            template = next((t for t in templates if str(t.pk) == str(template_id)), None)
        elif self.may_reply(conversation):
            replies = self.canned_context(conversation)
        params = list(params or [])
        fields = []
        if template is not None:
            params = (params + [""] * template.param_count)[:template.param_count]
            fields = [{"number": n, "value": value} for n, value in enumerate(params, 1)]
        return {
            "reply_text": text, "templates": templates, "template": template,
            "param_fields": fields,
            # An empty parameter keeps its {{n}}, so the preview shows what is still missing.
            "preview": template_render(template.body, [
                value or f"{{{{{n}}}}}" for n, value in enumerate(params, 1)
            ]) if template else "",
            "scheduled_for": scheduled_for, "reply_error": error, "reply_done": done,
            "client_id": client_id or uuid.uuid4().hex, "canned_replies": replies,
        }


def _mark_read(view, conversation, thread) -> None:
    """The person has seen what the page shows: up to its newest message."""
    if thread:
        inbox.conversation_mark_read(org=view.organization, conversation=conversation,
                                     actor=view.actor, up_to=max(m.pk for m in thread),
                                     known_mark=conversation.read_mark)


class ThreadView(ConversationPageMixin, View):
    """The thread; opening it marks it read for this person only. It carries the list it was
    opened from (the list's query), for j / k, "done" and the way back.

    ``?canned=<id>`` puts a canned reply into the box (after ``text``, what was typed): how
    the reply box inserts one without JavaScript."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        thread = selectors.thread_messages(self.organization, conversation)
        _mark_read(self, conversation, thread)
        text = request.GET.get("text", "")
        if request.GET.get("canned"):
            chosen = selectors.canned_reply(self.organization, request.GET["canned"])
            body = next(r["body"] for r in self.canned_context(conversation)
                        if r["id"] == chosen.pk)
            text = f"{text.rstrip()}\n{body}" if text.strip() else body
        query = self.list_query(request.GET)
        before, after = selectors.inbox_neighbours(self.organization, self.membership, query,
                                                   conversation.pk, tiers=self.tiers)
        list_query = query_string(query)
        context = self.thread_context(
            conversation, thread=thread,
            reply={"template_id": request.GET.get("template", ""), "text": text},
            list_query=list_query, previous_id=before, next_id=after,
        )
        return render(request, "agents/inbox/thread.html", context)


class ThreadMessagesView(ConversationPageMixin, View):
    """The messages alone, for the thread's live refresh (the person is looking: read)."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        thread = selectors.thread_messages(self.organization, conversation)
        _mark_read(self, conversation, thread)
        for message in thread:
            self.message_context(message, conversation)
        return render(request, "agents/inbox/_messages.html",
                      {"conversation": conversation, "thread": thread})


class TemplateFieldsView(ConversationPageMixin, View):
    """The chosen template's parameter inputs and preview (or the preview alone)."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        conversation.window = window_state(conversation, timezone.now())
        context = {"conversation": conversation,
                   **self.reply_context(conversation,
                                        template_id=request.GET.get("template", ""),
                                        params=_params(request.GET))}
        if request.GET.get("part") == "preview":
            return render(request, "agents/inbox/_template_preview.html", context)
        return render(request, "agents/inbox/_template_fields.html", context)


class ReplyView(ConversationPageMixin, View):
    @staticmethod
    def typed(data) -> tuple[str, list, dict]:
        """The template chosen, its parameters, and all the person typed, to put back in the
        box after a refusal."""
        template_id = data.get("template", "")
        params = _params(data)
        return template_id, params, {
            "text": data.get("text", ""), "template_id": template_id, "params": params,
            "scheduled_for": data.get("scheduled_for", ""), "client_id": data.get("client_id", ""),
        }

    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        data = request.POST
        template_id, params, typed = self.typed(data)
        try:
            message = self.send(conversation, data, template_id, params)
        except FlexoraaError as error:
            return self.refused(request, conversation, typed, error)
        if message.status == MessageStatus.SCHEDULED:
            local = timezone.localtime(message.scheduled_for)
            done = f"Scheduled for {local:%d %b, %H:%M}."
        else:
            done = "Sent."
        if not request.htmx:
            messages.success(request, done)
            return redirect("inbox-thread", pk=conversation.pk)
        conversation = self.get_conversation(pk)
        context = self.thread_context(conversation, reply={"done": done}, oob=True)
        return render(request, "agents/inbox/_reply_done.html", context)

    def send(self, conversation, data, template_id, params):
        if not self.may_reply(conversation):
            raise PermissionDenied(NOT_TAKEN)
        schedule = ScheduleField(data)
        if not schedule.is_valid():
            problem = schedule.errors["scheduled_for"][0]
            raise MessageInvalid(f"Schedule for: {problem}",
                                 fields={"scheduled_for": [problem]})
        template = None
        if template_id:
            template = selectors.templates_for(conversation).filter(
                pk=template_id if template_id.isdigit() else 0).first()
            if template is None:
                raise MessageInvalid("Choose one of this channel's approved templates.",
                                     fields={"template": ["Not an approved template."]})
        client_id = data.get("client_id", "")
        try:
            client_id = uuid.UUID(client_id).hex
        except ValueError:
            client_id = None  # a page from before the form carried one: send without dedupe
        return outbound.message_send(
            org=self.organization, conversation=conversation, sender=SenderKind.SDR,
            author=self.membership, text="" if template else data.get("text", ""),
            template=template, template_params=params if template else [],
            scheduled_for=schedule.cleaned_data["scheduled_for"], client_id=client_id,
        )

    def refused(self, request, conversation, typed, error):
        status = error.status_code if 400 <= error.status_code < 500 else 400
        context = self.thread_context(conversation, reply={**typed, "error": page_words(error)})
        if request.htmx:
            return render(request, "agents/inbox/_reply_box.html", context, status=status)
        return render(request, "agents/inbox/thread.html", context, status=status)


class AssignView(ConversationPageMixin, View):
    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        try:
            conversation = inbox.conversation_assign(
                org=self.organization, conversation=conversation,
                assignee=request.POST.get("assignee", ""), actor=self.actor,
            )
        except FlexoraaError as error:
            status = error.status_code if 400 <= error.status_code < 500 else 400
            context = self.thread_context(conversation, assign_error=error.message)
            template = ("agents/inbox/_assign_card.html" if request.htmx
                        else "agents/inbox/thread.html")
            return render(request, template, context, status=status)
        done = f"Assigned to {member_name(conversation.assignee)}."
        still_mine = self.is_manager or self.membership.pk in (
            conversation.assignee_id, conversation.lead.owner_id)
        if not still_mine:
            # Handed over: the SDR no longer reaches this thread, so back to their inbox.
            messages.success(request, f"{done} It has left your inbox.")
            if request.htmx:
                return HttpResponseClientRedirect(reverse("inbox-list"))
            return redirect("inbox-list")
        if not request.htmx:
            messages.success(request, done)
            return redirect("inbox-thread", pk=conversation.pk)
        context = self.thread_context(conversation, assign_done=done)
        return render(request, "agents/inbox/_assign_card.html", context)


class VerdictView(ConversationPageMixin, View):
    """Mark the predicted intent of one of the conversation's messages right or wrong."""

    def post(self, request, pk, message_pk):
        conversation = self.get_conversation(pk)
        message = selectors.thread_message(self.organization, conversation, message_pk)
        error = ""
        try:
            message = inbox.intent_verdict_record(
                org=self.organization, message=message,
                verdict=request.POST.get("verdict", ""), actor=self.actor,
            )
        except FlexoraaError as refused:
            error = refused.message
            status = refused.status_code if 400 <= refused.status_code < 500 else 400
        if not request.htmx:
            if error:
                return render(request, "agents/inbox/thread.html",
                              self.thread_context(conversation, verdict_error=error,
                                                  verdict_message=message.pk), status=status)
            messages.success(request, "Thanks: your verdict on the intent is recorded.")
            return redirect(f"{reverse('inbox-thread', args=[conversation.pk])}"
                            f"#message-{message.pk}")
        message = selectors.thread_message(self.organization, conversation, message.pk)
        self.message_context(message, conversation)
        return render(request, "agents/inbox/_message.html",
                      {"conversation": conversation, "message": message,
                       "verdict_error": error, "verdict_message": message.pk},
                      status=status if error else 200)


class MarkReadView(ConversationPageMixin, View):
    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        inbox.conversation_mark_read(org=self.organization, conversation=conversation,
                                     actor=self.actor)
        if request.htmx:
            return HttpResponse(status=204)
        messages.success(request, "Marked as read.")
        return redirect("inbox-list")


class DoneView(ConversationPageMixin, View):
    """"Done" (the e key): the conversation is read for this person, who moves on to the
    next one of the list the thread was opened from (or back to the list at its end). The
    lead's status is left alone: the lead page says where a lead stands."""

    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        inbox.conversation_mark_read(org=self.organization, conversation=conversation,
                                     actor=self.actor)
        if request.htmx:
            return HttpResponse(status=204)
        query = self.list_query(request.GET)
        _before, after = selectors.inbox_neighbours(self.organization, self.membership, query,
                                                    conversation.pk, tiers=self.tiers)
        back = query_string(query)
        if after is None:
            messages.success(request, "Done. That was the last conversation of the list.")
            return redirect(f"{reverse('inbox-list')}?{back}")
        return redirect(f"{reverse('inbox-thread', args=[after])}?{back}")


class TakeView(ConversationPageMixin, View):
    """An SDR takes an unassigned conversation: its lead leaves the unassigned queue for
    them (``lead_claim``, with the queue's rules: their tier pool, their capacity)."""

    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        try:
            lead_services.lead_claim(org=self.organization, lead=conversation.lead,
                                     actor=self.actor)
        except FlexoraaError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "It is yours now.")
        return redirect("inbox-thread", pk=conversation.pk)
