"""What the LeadOS page tests share: tier inputs, and leads owned by a given member."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import services
from leads.models import Lead
from tests.factories import SETUP_ACTOR
from tests.leads.factories import make_lead

HTMX = {"HX-Request": "true"}
# With the default settings these land in each tier (API source: 2 engagement points).
HOT = {"need": "A CRM for 20 reps", "budget_amount": Decimal("200000"), "budget_currency": "INR",
       "authority": "decision_maker", "timeline": "immediate"}
WARM = {"need": "Something for the team", "budget_amount": Decimal("50000"),
        "budget_currency": "INR", "authority": "influencer", "timeline": "quarter"}


def lead_of(owner, **values):
    """A lead owned by ``owner``, whoever routing picked first."""
    lead = make_lead(owner.organization, **values)
    if lead.owner_id != owner.pk:
        lead = services.lead_reassign(org=owner.organization, lead=lead, owner_id=owner.pk,
                                      actor=SETUP_ACTOR)
    return Lead.objects.get(pk=lead.pk)


def page_of(response) -> str:
    return response.content.decode()


def breach_all_waiting(hours=48):
    """Runs the SLA check as if ``hours`` had passed: every unanswered lead is breached."""
    services.sla_breaches_record(now=timezone.now() + timedelta(hours=hours))

def query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)
