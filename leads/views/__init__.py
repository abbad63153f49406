"""LeadOS pages: my leads, a lead's detail and its actions, the team queue and the SLA report.

Reads go through ``leads.selectors`` and writes through ``leads.services``. Every action works
without JavaScript (POST, then a redirect with a message, or the page again with the problem
shown) and with htmx (the card it changed comes back; the other cards it touched follow out of
band). A service's refusal is shown on the page, never as a 500.
"""

from leads.views.lead import (
    FirstResponseView,
    FollowUpCompleteView,
    FollowUpRescheduleView,
    FollowUpSetView,
    LeadDetailView,
    NoteAddView,
    QualificationView,
    ReassignView,
    StatusChangeView,
)
from leads.views.lists import MyLeadsView, TeamQueueView
from leads.views.sla import BreachAcknowledgeView, BreachBannerView, SlaReportView

__all__ = [
    "BreachAcknowledgeView",
    "BreachBannerView",
    "FirstResponseView",
    "FollowUpCompleteView",
    "FollowUpRescheduleView",
    "FollowUpSetView",
    "LeadDetailView",
    "MyLeadsView",
    "NoteAddView",
    "QualificationView",
    "ReassignView",
    "SlaReportView",
    "StatusChangeView",
    "TeamQueueView",
]
