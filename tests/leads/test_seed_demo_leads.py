from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flexoraa.models import Organization
from leads.models import Lead, LeadEvent

pytestmark = pytest.mark.django_db


def test_the_demo_tenant_gets_a_spread_of_leads_once():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo_leads", stdout=out)
    demo = Organization.objects.get(slug="demo")
    leads = Lead.objects.for_org(demo)
    assert "Added 10 demo leads" in out.getvalue()
    assert set(leads.values_list("tier", flat=True)) == {"hot", "warm", "cold"}
    assert leads.filter(owner__isnull=False).count() == 10
    assert LeadEvent.objects.for_org(demo).filter(kind="merged").count() == 1
    again = StringIO()
    call_command("seed_demo_leads", stdout=again)
    assert "already has leads" in again.getvalue() and leads.count() == 10


def test_an_unknown_tenant_is_a_clear_error():
    with pytest.raises(CommandError, match="run seed_demo first"):
        call_command("seed_demo_leads", org="nowhere")
