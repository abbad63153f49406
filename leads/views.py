"""LeadOS pages: my leads, a lead's detail and its actions, the team queue and the SLA report.

Reads go through ``leads.selectors`` and writes through ``leads.services``. Every action works
without JavaScript (POST, then a redirect with a message, or the page again with the problem
shown) and with htmx (the card it changed comes back; the other cards it touched follow out of
band). A service's refusal is shown on the page, never as a 500.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateformat import format as format_date
from django.views import View
from django_htmx.http import push_url

from flexoraa.errors import FlexoraaError, ValidationFailed
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import selectors, services
from leads.models import (
    OPEN_STATUSES,
    AssignmentReason,
    Authority,
    Intent,
    LeadEvent,
    Source,
    Status,
    Tier,
    Timeline,
    VerificationStatus,
)
from leads.services.intake import STATUS_FLOW

PAGE_SIZE = 50
TIMELINE_LIMIT = 200
BREACH_LIMIT = 100
UNASSIGNED = "none"
SLA_DAY_CHOICES = (7, 30, 90)
FACTOR_LABELS = {"intent": "Intent", "budget": "Budget", "authority": "Authority",
                 "timeline": "Timeline", "engagement": "Engagement"}
FIELD_WORDS = {"name": "name", "phone": "phone", "email": "email", "need": "need",
               "budget_amount": "budget", "budget_currency": "budget currency",
               "authority": "authority", "timeline": "timeline", "status": "status"}


# --- words for times -----------------------------------------------------------------------

def span_words(seconds: float) -> str:
    """A span as a person says it: "less than a minute", "4 min", "2 h 5 min", "3 d 4 h"."""
    seconds = int(seconds)
    if seconds < 60:
        return "less than a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def duration_words(seconds: float | None) -> str:
    """A measured time such as a p50; seconds stay visible while they matter."""
    if seconds is None:
        return "no data yet"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return span_words(seconds)


@dataclass(frozen=True)
class SlaState:
    words: str
    tone: str  # a CSS class: ok, warn, bad or muted


def sla_state(lead, now: datetime) -> SlaState:
    """Where the lead stands against its first-response target, in words."""
    due = lead.first_response_due_at
    if lead.first_response_at is not None:
        if due is not None and lead.first_response_at > due:
            return SlaState("answered late", "warn")
        return SlaState("answered", "ok")
    if due is None:
        return SlaState("no target", "muted")
    left = (due - now).total_seconds()
    if left >= 0:
        return SlaState(f"due in {span_words(left)}", "due")
    return SlaState(f"overdue by {span_words(-left)}", "bad")


def member_name(membership) -> str:
    if membership is None:
        return "nobody"
    return membership.user.get_full_name() or membership.user.get_username()


def _label(choices, value) -> str:
    try:
        return choices(value).label
    except ValueError:
        return str(value)


# --- the list pages ----------------------------------------------------------------------

def _invalid_choice(what: str, choices) -> dict:
    names = ", ".join(str(label) for value, label in choices if value)
    return {"invalid_choice": f"'%(value)s' is not a {what}. Choose one of: {names}."}


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

@dataclass(frozen=True)
class Factor:
    name: str
    label: str
    points: int
    max: int
    percent: int
    explanation: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    label: str
    words: str
    actor: str


def score_factors(lead) -> list[Factor]:
    factors = []
    for factor in (lead.score_breakdown or {}).get("factors", []):
        points, most = int(factor.get("points", 0)), int(factor.get("max", 20)) or 20
        factors.append(Factor(
            name=factor.get("name", ""),
            label=FACTOR_LABELS.get(factor.get("name"), str(factor.get("name", "")).title()),
            points=points, max=most, percent=max(0, min(100, round(100 * points / most))),
            explanation=factor.get("explanation", ""),
        ))
    return factors


def verification_rows(lead) -> list[dict]:
    stored = lead.verification or {}
    rows = []
    phone = stored.get("phone")
    if phone is not None:
        facts = ", ".join(filter(None, [phone.get("kind"), phone.get("region")]))
        rows.append({"field": "Phone", "value": lead.phone, "ok": phone.get("ok", False),
                     "facts": facts, "reasons": phone.get("reasons", [])})
    email = stored.get("email")
    if email is not None:
        rows.append({"field": "Email", "value": lead.email, "ok": email.get("ok", False),
                     "facts": "throwaway mailbox" if email.get("disposable") else "mailbox",
                     "reasons": email.get("reasons", [])})
    return rows


def _local(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return ""
    return format_date(timezone.localtime(moment), "j M, H:i")


def event_words(event, names: dict[int, str]) -> str:
    """A timeline entry in words. ``data`` holds codes and ids; names come from the team."""
    data = event.data or {}
    kind = LeadEvent.Kind
    if event.kind == kind.CREATED:
        source = _label(Source, data.get("source", ""))
        checked = _label(VerificationStatus, data.get("verification", "")).lower()
        return f"Came in through {source}. Contact check: {checked}."
    if event.kind == kind.MERGED:
        source = _label(Source, data.get("source", ""))
        changed = [FIELD_WORDS.get(name) for name in data.get("fields", [])]
        changed = sorted({word for word in changed if word})
        words = f"Came in again through {source}; " + (
            f"updated {', '.join(changed)}." if changed else "nothing new.")
        if data.get("also_matches"):
            others = ", ".join(f"#{pk}" for pk in data["also_matches"])
            words += f" Its contact also matches lead {others}."
        return words
    if event.kind == kind.SCORED:
        now = f"{data.get('score')} ({_label(Tier, data.get('tier', ''))})"
        was = data.get("was")
        if was:
            return f"Rescored from {was.get('score')} ({_label(Tier, was.get('tier', ''))}) to {now}."
        return f"Scored {now}."
    if event.kind == kind.ASSIGNED:
        reason = _label(AssignmentReason, data.get("reason", "")).lower()
        to = names.get(data.get("to"), "a former member")
        start = (f"Moved from {names.get(data['from'], 'a former member')} to {to}"
                 if data.get("from") else f"Assigned to {to}")
        detail = f" {data['detail']}" if data.get("detail") else ""
        return f"{start}: {reason}.{detail}"
    if event.kind == kind.STATUS:
        return f"Status changed to {_label(Status, data.get('to', '')).lower()}."
    if event.kind == kind.UPDATED:
        changed = sorted({FIELD_WORDS.get(name, name) for name in data.get("fields", [])})
        return f"Updated {', '.join(changed)}." if changed else "Details updated."
    if event.kind == kind.FIRST_RESPONSE:
        return "First response sent, " + (
            "within the target." if data.get("met_sla", True) else "after the target.")
    if event.kind == kind.SLA_BREACHED:
        due = _local(data.get("due_at"))
        return "Missed the first-response target" + (f" (due {due})." if due else ".")
    if event.kind == kind.ANALYSED:
        intent = _label(Intent, data.get("intent", "")).lower()
        confidence = data.get("confidence")
        sure = f" ({confidence:.0%} sure)" if isinstance(confidence, int | float) else ""
        found = "; a budget was found" if data.get("budget_found") else ""
        return f"Messages analysed: {intent} intent{sure}{found}."
    return f"{event.get_kind_display()}."


class QualificationForm(forms.Form):
    """Only shapes what was typed; the service validates and names each field it refuses."""

    need = forms.CharField(required=False, label="Need",
                           widget=forms.Textarea(attrs={"rows": 3}))
    budget_amount = forms.CharField(
        required=False, label="Budget amount",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                      "placeholder": "250000"}),
    )
    budget_currency = forms.CharField(
        required=False, label="Currency",
        widget=forms.TextInput(attrs={"maxlength": "3", "autocomplete": "off",
                                      "autocapitalize": "characters", "placeholder": "INR"}),
    )
    authority = forms.ChoiceField(required=False, label="Authority", choices=Authority.choices,
                                  error_messages=_invalid_choice("authority", Authority.choices))
    timeline = forms.ChoiceField(required=False, label="Buying timeline",
                                 choices=Timeline.choices,
                                 error_messages=_invalid_choice("timeline", Timeline.choices))

    @classmethod
    def for_lead(cls, lead):
        return cls(prefix="q", initial={
            "need": lead.need, "budget_amount": lead.budget_amount or "",
            "budget_currency": lead.budget_currency, "authority": lead.authority,
            "timeline": lead.timeline,
        })

    def changes(self) -> dict:
        data = self.cleaned_data
        # People type "2,50,000" or "250 000"; the service wants the digits.
        amount = data["budget_amount"].replace(",", "").replace(" ", "")
        return {
            "need": data["need"], "budget_amount": amount or None,
            "budget_currency": data["budget_currency"].upper(),
            "authority": data["authority"], "timeline": data["timeline"],
        }

    def refused(self, error: FlexoraaError) -> None:
        placed = False
        for field, texts in error.fields.items():
            if field in self.fields:
                for text in texts:
                    self.add_error(field, text)
                placed = True
        if not placed:
            self.add_error(None, error.message)


class LeadPageMixin(TenantPageMixin):
    """A lead in the person's reach: a manager's whole tenant, an SDR's own leads. Anything
    else (another SDR's, another tenant's) is the same 404 as a lead that does not exist."""

    @property
    def is_manager(self) -> bool:
        return role_is_managing(self.membership.role)

    def get_lead(self, pk):
        if self.is_manager:
            leads = selectors.leads_for_org(self.organization)
        else:
            leads = selectors.leads_for_owner(self.organization, self.membership)
        return get_object_or_404(leads, pk=pk)

    def detail_context(self, lead, **extra) -> dict:
        org = self.organization
        members = list(selectors.assignable_members(org))
        names = {m.pk: member_name(m) for m in members}
        lead.sla = sla_state(lead, timezone.now())
        timeline = [
            TimelineEntry(at=event.created_at, kind=event.kind, label=event.get_kind_display(),
                          words=event_words(event, names),
                          actor=member_name(event.actor) if event.actor_id else "")
            for event in selectors.lead_timeline(org, lead)[:TIMELINE_LIMIT]
        ]
        context = {
            "lead": lead,
            "factors": score_factors(lead),
            "verification_rows": verification_rows(lead),
            "timeline": timeline,
            "assignments": list(selectors.lead_assignments(org, lead)[:TIMELINE_LIMIT]),
            "breach": selectors.breach_for_lead(org, lead),
            "next_statuses": [(value, _label(Status, value)) for value in Status.values
                              if value in STATUS_FLOW.get(lead.status, ())],
            "qualification_form": QualificationForm.for_lead(lead),
            "new_owners": [m for m in members if m.pk != lead.owner_id],
            "can_reassign": self.is_manager and lead.is_open,
        }
        context.update(extra)
        return context


class LeadDetailView(LeadPageMixin, View):
    def get(self, request, pk):
        lead = self.get_lead(pk)
        return render(request, "leads/detail.html", self.detail_context(lead))


class LeadActionView(LeadPageMixin, View):
    """One action on a lead. Subclasses say which card answers (``card``), which other cards
    it changes (``touches``) and what to tell the person."""

    card: str
    touches: tuple[str, ...] = ()
    done: str

    def act(self, request, lead):
        raise NotImplementedError

    def refusal(self, request, error: FlexoraaError) -> dict:
        """Context that shows the refusal in the card."""
        return {f"{self.card}_error": error.message}

    def post(self, request, pk):
        lead = self.get_lead(pk)
        try:
            self.act(request, lead)
        except FlexoraaError as error:
            context = self.detail_context(lead, **self.refusal(request, error))
            if request.htmx:
                # htmx swaps only 2xx answers: the card with the reason comes back as a 200.
                return render(request, f"leads/_{self.card}_card.html", context)
            return render(request, "leads/detail.html", context, status=400)
        if not request.htmx:
            messages.success(request, self.done)
            return redirect("leads:detail", pk=lead.pk)
        lead = self.get_lead(pk)  # as the service left it, with its owner
        context = self.detail_context(lead, done=self.done, done_card=self.card)
        return render(request, "leads/_cards.html", {
            **context, "card_template": f"leads/_{self.card}_card.html",
            "oob_templates": [f"leads/_{name}_card.html" for name in self.touches],
        })


class FirstResponseView(LeadActionView):
    card = "sla"
    touches = ("summary", "timeline")
    done = "First response recorded."

    def act(self, request, lead):
        services.lead_mark_first_response(org=self.organization, lead=lead,
                                          actor=self.membership)


class StatusChangeView(LeadActionView):
    card = "status"
    touches = ("summary", "sla", "owner", "timeline")
    done = "Status changed."

    def act(self, request, lead):
        services.lead_update(org=self.organization, lead=lead, actor=self.membership,
                             status=request.POST.get("status", ""))


class QualificationView(LeadActionView):
    card = "qualification"
    touches = ("summary", "score", "sla", "timeline")
    done = "Qualification saved; the lead is rescored."

    def act(self, request, lead):
        self.form = QualificationForm(request.POST, prefix="q")
        if not self.form.is_valid():
            first = next(iter(self.form.errors.values()))[0]
            raise ValidationFailed(first)
        services.lead_update(org=self.organization, lead=lead, actor=self.membership,
                             **self.form.changes())

    def refusal(self, request, error):
        if not self.form.errors:
            self.form.refused(error)
        return {"qualification_form": self.form, "qualification_open": True}


class ReassignView(LeadActionView):
    manager_only = True
    card = "owner"
    touches = ("summary", "timeline")
    done = "Lead reassigned."

    def act(self, request, lead):
        try:
            owner_id = int(request.POST.get("owner", ""))
        except ValueError:
            raise ValidationFailed("Choose who takes the lead.") from None
        services.lead_reassign(org=self.organization, lead=lead, owner_id=owner_id,
                               actor=self.membership, note=request.POST.get("note", ""))

    def refusal(self, request, error):
        return {"owner_error": error.message, "note": request.POST.get("note", "")}


# --- SLA breaches ------------------------------------------------------------------------

class BreachAcknowledgeView(TenantPageMixin, View):
    manager_only = True

    def post(self, request, pk):
        breach = get_object_or_404(selectors.breaches_for_org(self.organization), pk=pk)
        try:
            services.breach_acknowledge(org=self.organization, breach=breach,
                                        actor=self.membership)
        except FlexoraaError as error:
            if request.htmx:
                return render(request, "leads/_breach_row.html",
                              {"breach": breach, "error": error.message})
            messages.error(request, error.message)
            return redirect(reverse("leads:team") + "#breaches")
        if request.htmx:
            # An empty answer removes the row; the count and the empty note follow.
            return render(request, "leads/_breach_acknowledged.html",
                          {"breach_count": selectors.open_breaches(self.organization).count()})
        messages.success(request, f"The SLA breach on {breach.lead} is acknowledged.")
        return redirect(reverse("leads:team") + "#breaches")


class BreachBannerView(TenantPageMixin, View):
    """The dashboard's banner of unacknowledged breaches, loaded after the page (htmx) so the
    dashboard itself keeps its fixed query count."""

    manager_only = True

    def get(self, request):
        count = selectors.open_breaches(self.organization).count()
        return render(request, "leads/_breach_banner.html", {"breach_count": count})


# --- SLA report --------------------------------------------------------------------------

@dataclass(frozen=True)
class SlaRow:
    name: str
    report: selectors.SlaReport
    p50: str
    p90: str


def _sla_row(name: str, report) -> SlaRow:
    return SlaRow(name=name, report=report, p50=duration_words(report.p50_seconds),
                  p90=duration_words(report.p90_seconds))


class SlaReportView(TenantPageMixin, View):
    def get(self, request):
        problem = ""
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 0
        if not 1 <= days <= 365:
            problem = (f"'{request.GET.get('days')}' is not a number of days from 1 to 365; "
                       "showing the last 30 days.")
            days = 30
        org = self.organization
        managing = role_is_managing(self.membership.role)
        report = selectors.sla_report(org, owner=None if managing else self.membership,
                                      days=days)
        rows = []
        if managing:
            by_owner = selectors.sla_reports_by_owner(org, days=days)
            empty = selectors.SlaReport(since=report.since, answered=0, met=0, overdue=0,
                                        waiting=0, p50_seconds=None, p90_seconds=None)
            rows = [_sla_row(member_name(m), by_owner.get(m.pk, empty))
                    for m in selectors.sdr_members(org).order_by("user__username")]
        return render(request, "leads/sla.html", {
            "summary": _sla_row("Team" if managing else member_name(self.membership), report),
            "rows": rows, "days": days, "day_choices": SLA_DAY_CHOICES, "problem": problem,
        })
