"""The unassigned queue: open leads nobody holds, soonest first-response target first, for
managers and for the SDRs who may take them, each with a "Take it" button; and the managers'
dashboard banner that says how many leads wait there."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from flexoraa.errors import FlexoraaError
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin
from leads import errors, selectors, services
from leads.models import OPEN_STATUSES, Lead, Tier
from leads.views.common import PAGE_SIZE, sla_state


class UnassignedQueueView(TenantPageMixin, View):
    """Managers see the whole queue; an SDR sees the tiers whose pool includes them."""

    def get(self, request):
        org = self.organization
        tiers = services.queue_tiers_for(org, self.membership)
        queued = selectors.unassigned_leads(org).filter(tier__in=tiers)
        page = Paginator(queued, PAGE_SIZE).get_page(request.GET.get("page"))
        now = timezone.now()
        for lead in page.object_list:
            lead.sla = sla_state(lead, now)
        held = Lead.objects.for_org(org).filter(owner=self.membership,
                                                status__in=OPEN_STATUSES).count()
        return render(request, "leads/queue.html", {
            "page": page,
            "is_manager": role_is_managing(self.membership.role),
            "tier_labels": [Tier(tier).label for tier in tiers],
            "every_tier": len(tiers) == len(Tier.values),
            "held": held,
            "capacity": self.membership.capacity,
            "at_capacity": held >= self.membership.capacity,
        })


class QueueTakeView(TenantPageMixin, View):
    """"Take it": the person takes the lead for themself. With htmx the row answers in place
    (the lead is theirs, or why not); without, a redirect with a message."""

    def post(self, request, pk):
        # Any lead of the tenant, so one taken a moment ago says so instead of a 404; another
        # tenant's lead is the 404 of a lead that does not exist.
        lead = get_object_or_404(selectors.leads_for_org(self.organization), pk=pk)
        try:
            lead = services.lead_claim(org=self.organization, lead=lead, actor=self.actor)
        except FlexoraaError as error:
            if request.htmx:
                # htmx swaps only 2xx answers: the row with the reason comes back as a 200.
                lead.sla = sla_state(lead, timezone.now())
                return render(request, "leads/_queue_row.html", {
                    "lead": lead, "error": error.message,
                    "taken": isinstance(error, errors.LeadTaken),
                    "is_manager": role_is_managing(self.membership.role),
                })
            messages.error(request, error.message)
            return redirect("leads:queue")
        if request.htmx:
            return render(request, "leads/_queue_taken.html", {"lead": lead})
        messages.success(request, f"{lead} is yours now.")
        return redirect("leads:detail", pk=lead.pk)


class QueueBannerView(TenantPageMixin, View):
    """The managers' dashboard banner: how many leads wait with nobody to take them (loaded
    after the page, so the dashboard keeps its fixed query count)."""

    manager_only = True

    def get(self, request):
        count = selectors.unassigned_leads(self.organization).count()
        return render(request, "leads/_queue_banner.html", {"queued_count": count})
