"""My leads and the team queue: filtered, searched and paged lists of leads."""

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import View
from django_htmx.http import push_url

from flexoraa.views import TenantPageMixin
from leads import selectors
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
            "show_owner": self.show_owner, "list_url": request.path,
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
    template_name = "leads/team.html"
    manager_only = True
    show_owner = True

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
        }


# --- a lead --------------------------------------------------------------------------------
