"""My leads and the team queue: filtered, searched and paged lists of leads."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import View
from django_htmx.http import push_url

from flexoraa.errors import FlexoraaError
from flexoraa.views import TenantPageMixin
from leads import selectors, services
from leads.models import (
    OPEN_STATUSES,
    Status,
    Tier,
)
from leads.views.common import (
    BREACH_LIMIT,
    PAGE_SIZE,
    UNASSIGNED,
    _invalid_choice,
    member_name,
    sla_state,
)


class LeadFilterForm(forms.Form):
    """The filters of a lead list. A value that is not allowed is explained and left out."""

    tier = forms.ChoiceField(required=False, label="Tier")
    status = forms.ChoiceField(required=False, label="Status")
    q = forms.CharField(
        required=False, max_length=100, label="Search",
        error_messages={"max_length": "Search for at most 100 characters."},
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                      "placeholder": "Name, email or phone"}),
    )

    def __init__(self, data, *, statuses=Status.choices, owners=None):
        super().__init__(data)
        self.fields["tier"].choices = [("", "All tiers"), *Tier.choices]
        self.fields["tier"].error_messages.update(_invalid_choice("tier", Tier.choices))
        self.fields["status"].choices = [("", "Any status"), *statuses]
        self.fields["status"].error_messages.update(_invalid_choice("status", statuses))
        if owners is not None:
            choices = [(str(m.pk), member_name(m)) for m in owners]
            field = forms.ChoiceField(
                required=False, label="Owner",
                choices=[("", "Everyone"), (UNASSIGNED, "Nobody (unassigned)"), *choices],
            )
            field.error_messages["invalid_choice"] = (
                "'%(value)s' is not a member of this team. Choose someone from the list."
            )
            self.fields = {"owner": field, **self.fields}

    def filtered(self, queryset):
        """Apply the valid filters; invalid ones are reported by ``problems``."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("tier"):
            queryset = queryset.filter(tier=data["tier"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        owner = data.get("owner")
        if owner == UNASSIGNED:
            queryset = queryset.filter(owner__isnull=True)
        elif owner:
            queryset = queryset.filter(owner_id=int(owner))
        return selectors.lead_search(queryset, data.get("q") or "")

    def problems(self) -> list[str]:
        return [str(message) for errors in self.errors.values() for message in errors]

    def query(self, **extra) -> str:
        """The valid filters as a query string (for the address bar and the pager)."""
        values = {name: value for name, value in self.cleaned_data.items() if value}
        values.update({name: value for name, value in extra.items() if value})
        return urlencode(values)


class LeadListView(TenantPageMixin, View):
    """A list of leads by urgency with filters: a full page, or only its results for htmx."""

    template_name: str
    results_template = "leads/_lead_results.html"
    show_owner = False
    bulk = False  # rows have checkboxes for the page's bulk actions

    def leads(self):
        raise NotImplementedError

    def filter_form(self, data) -> LeadFilterForm:
        return LeadFilterForm(data)

    def page_context(self) -> dict:
        return {}

    def get(self, request):
        form = self.filter_form(request.GET)
        page = Paginator(form.filtered(self.leads()), PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for lead in page.object_list:
            lead.sla = sla_state(lead, now)
        page_number = page.number if page.number > 1 else None
        context = {
            "form": form, "page": page, "problems": form.problems(),
            "show_owner": self.show_owner, "bulk": self.bulk, "list_url": request.path,
            "filter_query": form.query(), "filtered": bool(form.query()),
        }
        if request.htmx and not request.htmx.history_restore_request:
            response = render(request, self.results_template, {**context, "count_oob": True})
            query = form.query(page=page_number)
            push_url(response, f"{request.path}?{query}" if query else request.path)
        else:
            response = render(request, self.template_name, {**context, **self.page_context()})
        # The same address answers a full page or a fragment: caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response


class MyLeadsView(LeadListView):
    template_name = "leads/my_leads.html"

    def leads(self):
        return selectors.leads_by_urgency(
            selectors.leads_for_owner(self.organization, self.membership)
        )


class TeamQueueView(LeadListView):
    """Everyone's open leads, the team's load and the unacknowledged breaches; a POST applies
    a bulk action to the leads ticked in the list."""

    template_name = "leads/team.html"
    manager_only = True
    show_owner = True
    bulk = True

    def filter_form(self, data):
        self.team = list(selectors.team_load(self.organization))
        open_statuses = [(value, label) for value, label in Status.choices
                         if value in OPEN_STATUSES]
        return LeadFilterForm(data, statuses=open_statuses, owners=self.team)

    def leads(self):
        return selectors.leads_by_urgency(selectors.open_leads_for_org(self.organization))

    def page_context(self):
        breaches = selectors.open_breaches(self.organization)
        return {
            "team": self.team,
            "breaches": list(breaches[:BREACH_LIMIT]),
            "breach_count": breaches.count(),
            "breach_limit": BREACH_LIMIT,
            "bulk_statuses": [(value, Status(value).label) for value in services.BULK_STATUSES],
            "lost_reasons": services.lost_reason_choices(org=self.organization),
        }

    def post(self, request):
        action = request.POST.get("action", "")
        raw_ids = set(request.POST.getlist("lead"))
        parsed = [_lead_id(value) for value in raw_ids]
        lead_ids = {pk for pk in parsed if pk is not None}
        unreadable = parsed.count(None)  # not an id at all: counted as not found
        back = reverse("leads:team") + _list_query(request.POST.get("query", ""))
        if not raw_ids:
            messages.error(request, "Select at least one lead first.")
        elif len(raw_ids) > BULK_LIMIT:
            messages.error(request, f"Select at most {BULK_LIMIT} leads at a time.")
        elif action == "reassign":
            self.reassign(request, lead_ids, unreadable)
        elif action == "status":
            self.change_status(request, lead_ids, unreadable)
        else:
            messages.error(request, "Choose what to do with the selected leads.")
        return redirect(back)

    def reassign(self, request, lead_ids, unreadable):
        try:
            owner_id = int(request.POST.get("owner", ""))
        except ValueError:
            owner_id = None
        owner = (None if owner_id is None else
                 selectors.assignable_members(self.organization).filter(pk=owner_id).first())
        if owner is None:
            # Also when every id is someone else's: the service would find no lead to check
            # the owner against.
            messages.error(request, "Choose who in your team takes the selected leads.")
            return
        try:
            result = services.leads_reassign_bulk(
                org=self.organization, lead_ids=sorted(lead_ids), owner_id=owner.pk,
                actor=self.actor,
            )
        except FlexoraaError as error:
            messages.error(request, _reason(error))
            return
        name = member_name(owner)
        _tell(request, result.moved, f"Reassigned {_leads(result.moved)} to {name}",
              f"No lead was reassigned to {name}", [
            (result.closed, "already closed"),
            (result.not_found + unreadable, "not found"),
        ])

    def change_status(self, request, lead_ids, unreadable):
        status = request.POST.get("status", "")
        if not status:
            messages.error(request, "Choose the status the selected leads move to.")
            return
        try:
            result = services.leads_status_change_bulk(
                org=self.organization, lead_ids=sorted(lead_ids), status=status,
                actor=self.actor,
                # The reason's list sits beside every status; it counts only for lost.
                lost_reason=(request.POST.get("lost_reason") or None
                             if status == Status.LOST else None),
            )
        except FlexoraaError as error:
            messages.error(request, _reason(error))
            return
        label = Status(status).label
        _tell(request, result.changed, f"Moved {_leads(result.changed)} to {label}",
              f"No lead moved to {label}", [
            (result.unchanged, f"already {label.lower()}"),
            (result.closed, "already closed"),
            (result.refused, f"not allowed to become {label.lower()} from their status"),
            (result.not_found + unreadable, "not found"),
        ])


BULK_LIMIT = 500  # well above a page of leads; keeps one transaction's locks bounded
LIST_PARAMETERS = ("owner", "tier", "status", "q", "page")


def _list_query(query: str) -> str:
    """The list's filters and page from the form, so the list comes back as it was; anything
    else in the value is dropped."""
    values = QueryDict(query)
    kept = [(name, values[name]) for name in LIST_PARAMETERS if values.get(name)]
    return f"?{urlencode(kept)}" if kept else ""


def _lead_id(value: str) -> int | None:
    # ASCII digits of a size the database's bigint holds; anything else names no lead.
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _leads(count: int) -> str:
    return f"{count} lead{'s' if count != 1 else ''}"


def _reason(error: FlexoraaError) -> str:
    """The refusal in words, without the field name the API puts in front."""
    for texts in error.fields.values():
        if texts:
            return texts[0]
    return error.message


def _tell(request, done_count: int, done: str, nothing: str,
          others: list[tuple[int, str]]) -> None:
    """One message for a bulk action: what moved, then what did not and why
    ("Moved 12 leads to Lost; 2 were already closed.")."""
    parts = [done if done_count else nothing]
    parts += [f"{count} {'was' if count == 1 else 'were'} {why}"
              for count, why in others if count]
    text = "; ".join(parts) + "."
    if done_count:
        messages.success(request, text)
    else:
        messages.warning(request, text)


# --- a lead --------------------------------------------------------------------------------
