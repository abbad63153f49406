"""A conversation's thread and what an SDR does there: reply (free text while the window is
open, an approved template when it is closed), hand it to a colleague, judge the NLU's
reading of a message, mark it read.

Every action works as a plain form POST (then a redirect, or the page again with the problem
beside the form and a 4xx status) and with htmx (the changed part comes back; a refusal comes
back with its 4xx status, which the thread lets htmx swap in)."""

import uuid

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from agents import selectors
from agents.errors import MessageInvalid
from agents.models import Direction, MessageStatus, SenderKind
from agents.services import inbox, outbound
from agents.templates_text import template_render
from agents.views.common import (
    contact_name,
    member_name,
    sender_words,
    sla_badge,
    window_state,
)
from flexoraa.errors import FlexoraaError
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin

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


class ConversationPageMixin(TenantPageMixin):
    """A conversation in the person's reach; anything else is the same 404."""

    def get_conversation(self, pk):
        return selectors.conversation_for(self.organization, self.membership, pk)

    @property
    def is_manager(self) -> bool:
        return role_is_managing(self.membership.role)

    def message_context(self, message, conversation) -> None:
        message.who = sender_words(message, conversation)
        message.judgeable = (message.direction == Direction.INBOUND
                             and bool(message.predicted_intent))
        if message.intent_verdict_by_id:
            message.judged_by = member_name(message.intent_verdict_by)

    def thread_context(self, conversation, *, reply=None, **extra) -> dict:
        org = self.organization
        now = timezone.now()
        conversation.who = contact_name(conversation)
        conversation.window = window_state(conversation, now)
        conversation.sla = sla_badge(conversation.lead, now)
        thread = selectors.thread_messages(org, conversation)
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
        }
        context.update(self.reply_context(conversation, **(reply or {})))
        context.update(extra)
        return context

    def reply_context(self, conversation, *, text="", template_id="", params=None,
                      scheduled_for="", error="", client_id=None, done="") -> dict:
        state = conversation.window
        templates, template = [], None
        if not state.free_text:
            templates = list(selectors.templates_for(conversation))
            template = next((t for t in templates if str(t.pk) == str(template_id)), None)
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
            "client_id": client_id or uuid.uuid4().hex,
        }


class ThreadView(ConversationPageMixin, View):
    """The thread; opening it marks the conversation read."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        inbox.conversation_mark_read(org=self.organization, conversation=conversation,
                                     actor=self.actor)
        context = self.thread_context(conversation,
                                      reply={"template_id": request.GET.get("template", "")})
        return render(request, "agents/inbox/thread.html", context)


class ThreadMessagesView(ConversationPageMixin, View):
    """The messages alone, for the thread's live refresh (the person is looking: read)."""

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        inbox.conversation_mark_read(org=self.organization, conversation=conversation,
                                     actor=self.actor)
        thread = selectors.thread_messages(self.organization, conversation)
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
    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        data = request.POST
        template_id = data.get("template", "")
        params = _params(data)
        typed = {"text": data.get("text", ""), "template_id": template_id, "params": params,
                 "scheduled_for": data.get("scheduled_for", ""),
                 "client_id": data.get("client_id", "")}
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
        context = self.thread_context(conversation, reply={**typed, "error": error.message})
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
