"""SLA breaches (acknowledge, the dashboard banner) and the SLA report."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from flexoraa.errors import FlexoraaError
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import selectors, services
from leads.views.common import (
    SLA_DAY_CHOICES,
    duration_words,
    member_name,
)


class BreachAcknowledgeView(TenantPageMixin, View):
    manager_only = True

    def post(self, request, pk):
        breach = get_object_or_404(selectors.breaches_for_org(self.organization), pk=pk)
        try:
            services.breach_acknowledge(org=self.organization, breach=breach,
                                        actor=self.actor)
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
