"""A lead's detail page and its actions: first response, status (lost takes a reason),
qualification, reassign, notes and follow-ups. Panels other apps register with the core
(``flexoraa.lead_panels``: the conversation and its reply box) render beside the cards."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from flexoraa import lead_panels
from flexoraa.errors import FlexoraaError, ValidationFailed
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import selectors, services
from leads.models import (
    Authority,
    Status,
    Timeline,
)
from leads.views.common import (
    FACTOR_LABELS,
    TIMELINE_LIMIT,
    _invalid_choice,
    _label,
    event_words,
    member_name,
    sla_state,
)


@dataclass(frozen=True)
class Factor:
    name: str
    label: str
    points: int
    max: int
    percent: int
    explanation: str
    known: bool = True


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
            explanation=factor.get("explanation", ""), known=factor.get("known", True),
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
        amount = lead.budget_amount
        return cls(prefix="q", initial={
            "need": lead.need,
            # 250000, not 250000.00 or 2.5E+5.
            "budget_amount": "" if amount is None else format(amount.normalize(), "f"),
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


class DueField(forms.Form):
    """Only reads a follow-up's due time, in the tenant's time zone (the request's)."""

    due_at = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"required": "Say when it is due.",
                        "invalid": "Give the time as a date and a time, e.g. 2025-03-01 09:30."},
    )

    def due_at_or_refuse(self):
        if not self.is_valid():
            problem = self.errors["due_at"][0]
            raise ValidationFailed(f"due_at: {problem}", fields={"due_at": [problem]})
        return self.cleaned_data["due_at"]


# The lead's own cards an action elsewhere on the page may have changed (a reply from the
# conversation panel makes a new lead contacted and answers its SLA).
REFRESHED_CARDS = ("summary", "sla", "status", "timeline")


class LeadPageMixin(TenantPageMixin):
    """A lead in the person's reach: a manager's whole tenant, an SDR's own leads (and, to
    read and answer in notes, the leads a colleague's note mentions them on). Anything else
    (another SDR's, another tenant's) is the same 404 as a lead that does not exist."""

    # Whether a mentioned colleague may use this page (reading it, writing a note).
    for_readers = False

    @property
    def is_manager(self) -> bool:
        return role_is_managing(self.membership.role)

    def get_lead(self, pk):
        if self.is_manager:
            leads = selectors.leads_for_org(self.organization)
        elif self.for_readers:
            leads = selectors.leads_for_reader(self.organization, self.membership)
        else:
            leads = selectors.leads_for_owner(self.organization, self.membership)
        return get_object_or_404(leads, pk=pk)

    def can_work(self, lead) -> bool:
        """Whether the person works this lead (a manager, its owner), not only reads it."""
        return self.is_manager or lead.owner_id == self.membership.pk

    def detail_context(self, lead, **extra) -> dict:
        org = self.organization
        members = list(selectors.assignable_members(org))
        names = {m.pk: member_name(m) for m in members}
        now = timezone.now()
        lead.sla = sla_state(lead, now)
        if lead.lost_reason_id is not None:
            lead.lost_reason_label = selectors.lost_reasons_for_org(org).filter(
                pk=lead.lost_reason_id).values_list("label", flat=True).first()
        next_statuses = [(value, _label(Status, value))
                         for value in services.allowed_status_changes(lead)]
        follow_ups = list(selectors.lead_follow_ups(org, lead)[:selectors.FOLLOW_UPS_SHOWN])
        for follow_up in follow_ups:
            follow_up.owner_name = names.get(follow_up.owner_id, "a former member")
            follow_up.overdue = follow_up.done_at is None and follow_up.due_at <= now
            follow_up.may_change = self.is_manager or self.membership.pk in (
                follow_up.owner_id, lead.owner_id)
        timeline = [
            TimelineEntry(at=event.created_at, kind=event.kind, label=event.get_kind_display(),
                          words=event_words(event, names),
                          actor=member_name(event.actor) if event.actor_id else "")
            for event in selectors.lead_timeline(org, lead)[:TIMELINE_LIMIT]
        ]
        can_work = self.can_work(lead)
        lost_choosable = can_work and any(value == Status.LOST for value, _ in next_statuses)
        context = {
            "lead": lead,
            "is_manager": self.is_manager,
            "can_work": can_work,
            "factors": score_factors(lead),
            "verification_rows": verification_rows(lead),
            "timeline": timeline,
            "assignments": list(selectors.lead_assignments(org, lead)[:TIMELINE_LIMIT]),
            "breach": selectors.breach_for_lead(org, lead),
            "next_statuses": next_statuses if can_work else [],
            "lost_reasons": (services.lost_reason_choices(org=org) if lost_choosable else []),
            "qualification_form": QualificationForm.for_lead(lead),
            "new_owners": [m for m in members if m.pk != lead.owner_id],
            "can_reassign": self.is_manager and lead.is_open,
            "notes": list(selectors.lead_notes(org, lead)[:selectors.NOTES_SHOWN]),
            "notes_limit": selectors.NOTES_SHOWN,
            "follow_ups": follow_ups,
            "follow_up_owners": members if self.is_manager else [],
            "follow_up_default": timezone.localtime(now + timedelta(days=1)).replace(
                hour=10, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M"),
            "now_local": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
        }
        context.update(extra)
        return context


class LeadDetailView(LeadPageMixin, View):
    for_readers = True

    def get(self, request, pk):
        lead = self.get_lead(pk)
        context = self.detail_context(lead)
        if request.htmx and request.GET.get("refresh"):
            # Something else on the page changed the lead (a reply from the conversation
            # panel): its own cards come back, out of band.
            return render(request, "leads/_cards_oob.html", {
                **context, "oob_templates": [f"leads/_{name}_card.html"
                                             for name in REFRESHED_CARDS]})
        context["panels"] = lead_panels.render_lead_panels(request, lead)
        return render(request, "leads/detail.html", context)


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

    def post(self, request, pk, **kwargs):
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
                                          actor=self.actor)


class StatusChangeView(LeadActionView):
    card = "status"
    touches = ("summary", "sla", "owner", "timeline")
    done = "Status changed."

    def act(self, request, lead):
        status = request.POST.get("status", "")
        # The reason's list sits beside every status; it counts only on the way to lost.
        reason = request.POST.get("lost_reason") or None if status == Status.LOST else None
        services.lead_update(org=self.organization, lead=lead, actor=self.actor,
                             status=status, lost_reason=reason)

    def refusal(self, request, error):
        reason_problem = error.fields.get("lost_reason")
        return {"status_error": reason_problem[0] if reason_problem else error.message,
                "status_chosen": request.POST.get("status", ""),
                "lost_reason_chosen": request.POST.get("lost_reason", ""),
                "lost_reason_invalid": bool(reason_problem)}


class QualificationView(LeadActionView):
    card = "qualification"
    touches = ("summary", "score", "sla", "timeline")
    done = "Qualification saved; the lead is rescored."

    def act(self, request, lead):
        self.form = QualificationForm(request.POST, prefix="q")
        if not self.form.is_valid():
            first = next(iter(self.form.errors.values()))[0]
            raise ValidationFailed(first)
        services.lead_update(org=self.organization, lead=lead, actor=self.actor,
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
                               actor=self.actor, note=request.POST.get("note", ""))

    def refusal(self, request, error):
        return {"owner_error": error.message, "note": request.POST.get("note", "")}


class NoteAddView(LeadActionView):
    """Write a note; a colleague a note mentions may answer with one of their own."""

    for_readers = True
    card = "notes"
    touches = ("timeline",)
    done = "Note added."

    def act(self, request, lead):
        services.note_add(org=self.organization, lead=lead, actor=self.actor,
                          body=request.POST.get("body", ""))

    def refusal(self, request, error):
        return {"notes_error": _field_message(error), "note_body": request.POST.get("body", "")}


class FollowUpSetView(LeadActionView):
    card = "follow_ups"
    touches = ("timeline",)
    done = "Follow-up set."

    def act(self, request, lead):
        due_at = DueField(request.POST).due_at_or_refuse()
        services.follow_up_set(org=self.organization, lead=lead, actor=self.actor,
                               due_at=due_at, note=request.POST.get("note", ""),
                               owner=request.POST.get("owner") or None)

    def refusal(self, request, error):
        return {"follow_ups_error": _field_message(error),
                "follow_up_typed": {key: request.POST.get(key, "")
                                    for key in ("due_at", "note", "owner")}}


class FollowUpActionView(LeadActionView):
    """An action on one of the lead's follow-ups; another lead's is the same 404."""

    card = "follow_ups"
    touches = ("timeline",)

    def get_follow_up(self, lead):
        return get_object_or_404(selectors.lead_follow_ups(self.organization, lead),
                                 pk=self.kwargs["follow_up_pk"])

    def refusal(self, request, error):
        return {"follow_ups_error": _field_message(error),
                "follow_up_failed": self.kwargs["follow_up_pk"]}


class FollowUpCompleteView(FollowUpActionView):
    done = "Follow-up done."

    def act(self, request, lead):
        services.follow_up_complete(org=self.organization, follow_up=self.get_follow_up(lead),
                                    actor=self.actor)


class FollowUpRescheduleView(FollowUpActionView):
    done = "Follow-up moved."

    def act(self, request, lead):
        follow_up = self.get_follow_up(lead)
        due_at = DueField(request.POST).due_at_or_refuse()
        services.follow_up_reschedule(org=self.organization, follow_up=follow_up,
                                      due_at=due_at, actor=self.actor)


def _field_message(error: FlexoraaError) -> str:
    """The refusal in words, without the field name the API puts in front."""
    for texts in error.fields.values():
        if texts:
            return texts[0]
    return error.message


# --- SLA breaches ------------------------------------------------------------------------
