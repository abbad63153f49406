"""LeadOS in the manager console: scoped lists, reassignment, breaches, pools and settings."""

import pytest

from leads.models import LeadAssignment, LeadSettings, RoutingPoolMember, SlaBreach
from tests.factories import make_membership
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, manager):
    client.force_login(manager.user)
    return client


def test_the_lead_list_shows_only_the_managers_tenant(console, org, other_org, sdr):
    mine = make_lead(org, name="Mine Lead")
    make_membership(other_org)
    theirs = make_lead(other_org, name="Their Lead")
    page = console.get("/admin/leads/lead/").content.decode()
    assert "Mine Lead" in page and "Their Lead" not in page
    assert console.get(f"/admin/leads/lead/{theirs.pk}/change/").status_code == 302
    assert console.get(f"/admin/leads/lead/{mine.pk}/change/").status_code == 200


def test_a_manager_reassigns_selected_leads_with_the_action(console, org, manager, sdr):
    leads = [make_lead(org) for _ in range(2)]
    ids = [str(lead.pk) for lead in leads]
    form = console.post("/admin/leads/lead/", {"action": "reassign_leads",
                                               "_selected_action": ids})
    assert form.status_code == 200 and "Hand the selected leads to" in form.content.decode()
    done = console.post("/admin/leads/lead/", {
        "action": "reassign_leads", "_selected_action": ids, "apply": "1",
        "owner": manager.pk, "note": "Holiday cover",
    }, follow=True)
    assert "2 lead(s) reassigned" in done.content.decode()
    moves = LeadAssignment.objects.for_org(org).filter(reason="manual")
    assert moves.count() == 2 and {m.detail for m in moves} == {"Holiday cover"}


def test_the_reassign_form_offers_only_the_tenants_members(console, org, other_org, sdr):
    stranger = make_membership(other_org)
    lead = make_lead(org)
    form = console.post("/admin/leads/lead/", {"action": "reassign_leads",
                                               "_selected_action": [lead.pk]})
    assert stranger.user.username not in form.content.decode()
    refused = console.post("/admin/leads/lead/", {
        "action": "reassign_leads", "_selected_action": [lead.pk], "apply": "1",
        "owner": stranger.pk,
    })
    assert refused.status_code == 200
    assert not LeadAssignment.objects.filter(reason="manual").exists()


def test_settings_open_directly_and_refuse_warm_above_hot(console, org):
    opened = console.get("/admin/leads/leadsettings/")
    assert opened.status_code == 302 and "/change/" in opened["Location"]
    lead_settings = LeadSettings.objects.for_org(org).get()
    form = console.get(opened["Location"]).content.decode()
    assert "First-response targets" in form
    values = {
        "weight_intent": 2, "weight_budget": 1, "weight_authority": 1, "weight_timeline": 1,
        "weight_engagement": 1, "hot_threshold": 50, "warm_threshold": 60,
        "target_deal_amount": "100000", "target_deal_currency": "INR", "sla_hot_minutes": 5,
        "sla_warm_minutes": 60, "sla_cold_minutes": 1440, "leak_multiplier": "2",
        "max_leak_moves": 3,
    }
    refused = console.post(opened["Location"], values)
    assert refused.status_code in (200, 302)
    lead_settings.refresh_from_db()
    assert lead_settings.hot_threshold == 70
    values["warm_threshold"] = 30
    saved = console.post(opened["Location"], values)
    assert saved.status_code == 302
    lead_settings.refresh_from_db()
    assert (lead_settings.hot_threshold, lead_settings.warm_threshold,
            lead_settings.weight_intent) == (50, 30, 2)


def test_a_manager_builds_a_tier_pool_in_the_console(console, org, sdr):
    response = console.post("/admin/leads/routingpoolmember/add/",
                            {"tier": "hot", "membership": sdr.pk})
    assert response.status_code == 302, response.content.decode()[:1500]
    assert RoutingPoolMember.objects.for_org(org).get().membership == sdr


def test_breaches_are_acknowledged_from_the_console(console, org, sdr):
    from datetime import timedelta

    from django.utils import timezone

    from leads import services

    make_lead(org)
    services.sla_breaches_record(now=timezone.now() + timedelta(days=2))
    breach = SlaBreach.objects.for_org(org).get()
    console.post("/admin/leads/slabreach/", {"action": "acknowledge",
                                             "_selected_action": [breach.pk]})
    breach.refresh_from_db()
    assert breach.acknowledged_at is not None


def test_an_sdr_has_no_lead_console(client, sdr):
    client.force_login(sdr.user)
    assert client.get("/admin/leads/lead/").status_code == 302
