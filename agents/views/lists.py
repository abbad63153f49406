"""The inbox: the conversations a person works, filtered, newest activity first; a plain page
that htmx refreshes every few seconds."""

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import View

from agents import selectors
from agents.views.common import contact_name, member_name, sla_badge, window_state
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin

PAGE_SIZE = 50
MINE = "me"


class InboxFilterForm(forms.Form):
    """The list's filters. A value that is not allowed is explained and left out."""

    channel = forms.ChoiceField(required=False, label="Channel")
    unread = forms.BooleanField(required=False, label="Unread only")
    q = forms.CharField(
        required=False, max_length=100, label="Search",
        error_messages={"max_length": "Search for at most 100 characters."},
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                      "placeholder": "Name, phone, email or handle"}),
    )

    def __init__(self, data, *, channels, members=None):
        super().__init__(data)
        field = self.fields["channel"]
        field.choices = [("", "All channels"),
                         *[(str(c.pk), str(c)) for c in channels]]
        field.error_messages["invalid_choice"] = (
            "'%(value)s' is not one of your channels. Choose one from the list.")
        if members is not None:
            assignee = forms.ChoiceField(
                required=False, label="Assigned to",
                choices=[("", "Everyone"), (MINE, "Me"),
                         (selectors.UNASSIGNED, "Nobody (unassigned)"),
                         *[(str(m.pk), member_name(m)) for m in members]],
            )
            assignee.error_messages["invalid_choice"] = (
                "'%(value)s' is not a member of this team. Choose someone from the list.")
            self.fields = {"assignee": assignee, **self.fields}

    def problems(self) -> list[str]:
        return [str(message) for errors in self.errors.values() for message in errors]

    def query(self, **extra) -> str:
        values = {name: ("1" if value is True else value)
                  for name, value in self.cleaned_data.items() if value}
        values.update({name: value for name, value in extra.items() if value})
        return urlencode(values)


class InboxView(TenantPageMixin, View):
    def get(self, request):
        org, membership = self.organization, self.membership
        managing = role_is_managing(membership.role)
        channels = list(selectors.inbox_channels(org))
        members = list(selectors.inbox_members(org)) if managing else None
        form = InboxFilterForm(request.GET, channels=channels, members=members)
        form.is_valid()
        data = form.cleaned_data
        assignee = data.get("assignee") or ""
        conversations = selectors.inbox_conversations(
            org, membership, mine_only=(not managing or assignee == MINE),
            channel=int(data["channel"]) if data.get("channel") else None,
            unread_only=bool(data.get("unread")), q=data.get("q") or "",
            assignee=None if assignee in ("", MINE) else assignee,
        )
        page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for conversation in page.object_list:
            conversation.who = contact_name(conversation)
            conversation.window = window_state(conversation, now)
            conversation.sla = sla_badge(conversation.lead, now)
        query = form.query()
        page_number = page.number if page.number > 1 else None
        context = {
            "form": form, "page": page, "problems": form.problems(), "managing": managing,
            "list_url": request.path, "filter_query": query, "filtered": bool(query),
            "refresh_url": f"{request.path}?{form.query(page=page_number)}",
        }
        if request.htmx and not request.htmx.history_restore_request:
            response = render(request, "agents/inbox/_results.html", context)
        else:
            response = render(request, "agents/inbox/list.html", context)
        # The same address answers a full page or a fragment: caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response
