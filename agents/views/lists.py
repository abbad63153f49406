"""The inbox: the conversations a person works, in views (mine, unassigned, all) and filters,
the most urgent first; a plain page that htmx refreshes every few seconds."""

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import View

from agents import selectors
from agents.selectors import ALL, MINE, OLDEST, RECENT, UNASSIGNED, URGENT, InboxQuery
from agents.views.common import contact_name, inbox_badges, member_name
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import services as lead_services

PAGE_SIZE = 50
# The manager's "assigned to" filter also took these before views existed; old links work.
ME = "me"

VIEW_LABELS = {MINE: "Mine", UNASSIGNED: "Unassigned", ALL: "All"}
SORT_CHOICES = [(URGENT, "Most urgent"), (RECENT, "Latest activity"),
                (OLDEST, "Quiet the longest")]
ALL_FOR_MANAGERS = "All conversations are for managers; here are yours."


class InboxFilterForm(forms.Form):
    """The list's view, order and filters. A value that is not allowed is explained and left
    out."""

    view = forms.ChoiceField(required=False, choices=[(v, v) for v in VIEW_LABELS],
                             widget=forms.HiddenInput)
    sort = forms.ChoiceField(required=False, label="Order", choices=SORT_CHOICES)
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
        self.fields["view"].error_messages["invalid_choice"] = (
            "'%(value)s' is not a view of the inbox; choose mine, unassigned or all.")
        self.fields["sort"].error_messages["invalid_choice"] = (
            "'%(value)s' is not an order of the inbox. Choose one from the list.")
        field = self.fields["channel"]
        field.choices = [("", "All channels"),
                         *[(str(c.pk), str(c)) for c in channels]]
        field.error_messages["invalid_choice"] = (
            "'%(value)s' is not one of your channels. Choose one from the list.")
        if members is not None:
            assignee = forms.ChoiceField(
                required=False, label="Assigned to",
                choices=[("", "Anyone"), *[(str(m.pk), member_name(m)) for m in members]],
            )
            assignee.error_messages["invalid_choice"] = (
                "'%(value)s' is not a member of this team. Choose someone from the list.")
            self.fields["assignee"] = assignee

    def problems(self) -> list[str]:
        return [str(message) for errors in self.errors.values() for message in errors]

    def query(self, **extra) -> str:
        values = {name: ("1" if value is True else value)
                  for name, value in self.cleaned_data.items() if value}
        values.update({name: value for name, value in extra.items() if value is not None})
        return urlencode({name: value for name, value in values.items() if value})


def legacy_views(data):
    """``assignee=me`` and ``assignee=none`` from before views existed, as views."""
    legacy = {ME: MINE, selectors.UNASSIGNED_FILTER: UNASSIGNED}.get(data.get("assignee"))
    if legacy is None:
        return data
    data = data.copy()
    data["view"] = legacy
    data.pop("assignee")
    return data


def inbox_query(data: dict, *, managing: bool) -> tuple[InboxQuery, list[str]]:
    """The view and filters a person asked for, from a filter form's ``cleaned_data`` or raw
    query parameters (a thread reads its list's this way), and what had to change.

    Managers see *all* unless they ask otherwise; an SDR sees *mine*, and asking for *all*
    gives *mine* with a notice (the API answers 403 instead: a program should be told)."""
    notices = []
    data = legacy_views(data)
    view = data.get("view") or ""
    assignee = data.get("assignee") or ""
    if view not in VIEW_LABELS:
        view = ALL if managing else MINE
    if view == ALL and not managing:
        view = MINE
        notices.append(ALL_FOR_MANAGERS)
    sort = data.get("sort") or URGENT
    channel = str(data.get("channel") or "")
    return InboxQuery(
        view=view, sort=sort if sort in dict(SORT_CHOICES) else URGENT,
        channel=int(channel) if channel.isdigit() else None,
        unread=data.get("unread") in (True, "1", "on", "true"),
        q=str(data.get("q") or "")[:100],
        assignee=int(assignee) if managing and view == ALL and str(assignee).isdigit()
        else None,
    ), notices


def query_string(query: InboxQuery, **changes) -> str:
    """The list's address query for ``query`` (defaults left out), e.g. for a thread's links
    back and to its neighbours."""
    values = {"view": query.view, "sort": query.sort if query.sort != URGENT else "",
              "channel": query.channel or "", "unread": "1" if query.unread else "",
              "q": query.q, "assignee": query.assignee or ""}
    values.update(changes)
    return urlencode({name: value for name, value in values.items() if value})


def sdr_tiers(org, membership) -> list[str]:
    """The tiers whose unassigned conversations an SDR may open; none for managers, who
    reach every conversation anyway."""
    if role_is_managing(membership.role):
        return []
    return lead_services.queue_tiers_for(org, membership)


class InboxView(TenantPageMixin, View):
    def get(self, request):
        org, membership = self.organization, self.membership
        managing = role_is_managing(membership.role)
        channels = list(selectors.inbox_channels(org))
        members = list(selectors.inbox_members(org)) if managing else None
        data = legacy_views(request.GET)
        if not data.get("sort"):
            data = data.copy()
            data["sort"] = URGENT  # shown as chosen; left out of the addresses
        form = InboxFilterForm(data, channels=channels, members=members)
        form.is_valid()
        query, notices = inbox_query(form.cleaned_data, managing=managing)
        tiers = sdr_tiers(org, membership) if query.view == UNASSIGNED else []
        conversations = selectors.inbox_conversations(org, membership, query, tiers=tiers)
        page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for conversation in page.object_list:
            conversation.who = contact_name(conversation)
            inbox_badges(conversation, now)
        list_query = query_string(query)
        page_number = page.number if page.number > 1 else None
        views = [{"key": key, "label": label, "current": key == query.view,
                  "query": query_string(InboxQuery(view=key, sort=query.sort))}
                 for key, label in VIEW_LABELS.items() if managing or key != ALL]
        context = {
            "form": form, "page": page, "problems": form.problems(), "notices": notices,
            "managing": managing, "query": query, "views": views,
            "list_url": request.path, "list_query": list_query,
            "filtered": bool(query.channel or query.unread or query.q or query.assignee),
            "refresh_url": f"{request.path}?{query_string(query, page=page_number)}",
        }
        if request.htmx and not request.htmx.history_restore_request:
            response = render(request, "agents/inbox/_results.html", context)
        else:
            response = render(request, "agents/inbox/list.html", context)
        # The same address answers a full page or a fragment: caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response
