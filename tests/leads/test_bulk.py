"""Bulk actions in the team queue: a manager ticks leads, then reassigns them or changes their
status in one go, each lead through the same use case as a change made to it alone."""

import pytest
from django.test import Client

from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import AuditEvent, Role
from leads import services
from leads.models import Lead, LeadAssignment, LeadEvent, Status, Tier
from tests.factories import UserFactory, make_membership
from tests.leads.factories import lost_reason, make_lead
from tests.leads.pages_support import HOT, lead_of, page_of

pytestmark = pytest.mark.django_db


def statuses(*leads) -> list[str]:
    return [Lead.objects.get(pk=lead.pk).status for lead in leads]


# --- the service ---------------------------------------------------------------------------

def test_a_bulk_status_change_moves_each_lead_with_its_timeline_and_audit_event(
    org, manager, sdr
):
    leads = [lead_of(sdr, **HOT), lead_of(sdr), lead_of(sdr)]
    audit_before = AuditEvent.objects.filter(action="lead.updated").count()
    reason = lost_reason(org)

    result = services.leads_status_change_bulk(
        org=org, lead_ids=[lead.pk for lead in leads], status=Status.LOST,
        actor=Actor.for_member(manager), lost_reason=reason.pk,
    )

    assert result == services.BulkStatusResult(changed=3, unchanged=0, closed=0, refused=0,
                                               not_found=0)
    assert statuses(*leads) == [Status.LOST] * 3
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]):
        # Closing leaves the SLA and leakage watches, as a single change does.
        assert lead.leak_due_at is None and lead.first_response_due_at is None
        event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.STATUS)
        assert event.data == {"to": Status.LOST, "lost_reason": reason.pk,
                              "lost_reason_label": reason.label}
        assert event.actor_id == manager.pk and lead.lost_reason_id == reason.pk
    assert AuditEvent.objects.filter(action="lead.updated").count() == audit_before + 3


def test_closed_leads_and_moves_the_flow_forbids_are_counted_and_left_as_they_were(
    org, manager, sdr
):
    actor = Actor.for_member(manager)
    won = lead_of(sdr)
    services.lead_update(org=org, lead=won, actor=actor, status=Status.WON)
    lost = lead_of(sdr)
    services.lead_update(org=org, lead=lost, actor=actor, status=Status.LOST,
                         lost_reason=lost_reason(org))
    qualifying = lead_of(sdr)
    services.lead_update(org=org, lead=qualifying, actor=actor, status=Status.QUALIFYING)
    new = lead_of(sdr)

    to_qualifying = services.leads_status_change_bulk(
        org=org, lead_ids=[won.pk, lost.pk, qualifying.pk, new.pk], status=Status.QUALIFYING,
        actor=actor,
    )

    # A lost lead may be reopened; a won one is final.
    assert to_qualifying == services.BulkStatusResult(changed=2, unchanged=1, closed=1,
                                                      refused=0, not_found=0)
    assert statuses(won, lost, qualifying, new) == [Status.WON, Status.QUALIFYING,
                                                    Status.QUALIFYING, Status.QUALIFYING]


def test_an_open_lead_the_flow_does_not_let_move_there_is_counted_as_refused(org, manager, sdr):
    lead = lead_of(sdr)
    Lead.objects.filter(pk=lead.pk).update(status=Status.QUALIFIED)
    lost = lead_of(sdr)
    Lead.objects.filter(pk=lost.pk).update(status=Status.LOST)

    result = services.leads_status_change_bulk(org=org, lead_ids=[lead.pk, lost.pk],
                                               status=Status.QUALIFIED,
                                               actor=Actor.for_member(manager))

    # Lost reopens only to qualifying: a closed lead not allowed there is "closed".
    assert (result.changed, result.unchanged, result.closed) == (0, 1, 1)


def test_another_tenants_lead_ids_are_not_found_and_left_untouched(
    org, other_org, manager, sdr
):
    mine = lead_of(sdr)
    make_membership(other_org, role=Role.SDR)
    theirs = make_lead(other_org, **HOT)
    events_before = LeadEvent.objects.filter(lead=theirs).count()

    result = services.leads_status_change_bulk(
        org=org, lead_ids=[mine.pk, theirs.pk, 987654], status=Status.LOST,
        actor=Actor.for_member(manager), lost_reason=lost_reason(org),
    )

    assert (result.changed, result.not_found) == (1, 2)
    assert statuses(mine, theirs) == [Status.LOST, Status.NEW]
    assert LeadEvent.objects.filter(lead=theirs).count() == events_before


def test_a_status_nobody_sets_by_hand_changes_nothing(org, manager, sdr):
    lead = lead_of(sdr)
    for status in (Status.OPTED_OUT, Status.ANONYMIZED, Status.NEW, "closed"):
        with pytest.raises(ValidationFailed) as refused:
            services.leads_status_change_bulk(org=org, lead_ids=[lead.pk], status=status,
                                              actor=Actor.for_member(manager))
        assert refused.value.fields == {
            "status": ["Choose one of: contacted, qualifying, qualified, won, lost."]}
    assert statuses(lead) == [Status.NEW]


# --- the team queue's bulk form -------------------------------------------------------------

def test_the_team_queue_offers_a_checkbox_per_lead_and_the_bulk_form(
    org, manager, sdr, login_client
):
    lead = lead_of(sdr, name="Hot Hari", **HOT)
    page = page_of(login_client(manager).get("/leads/team/"))
    assert f'<input type="checkbox" name="lead" value="{lead.pk}" form="bulk-form"' in page
    assert '<form id="bulk-form" class="card filters" method="post" action="/leads/team/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<option value="lost">Lost</option>' in page
    assert '<option value="opted_out">' not in page
    # My leads has no bulk actions.
    assert 'form="bulk-form"' not in page_of(login_client(sdr).get("/leads/"))


def test_a_manager_moves_the_selected_leads_to_lost_and_is_told_what_happened(
    org, manager, sdr, login_client
):
    actor = Actor.for_member(manager)
    open_leads = [lead_of(sdr, **HOT) for _ in range(3)]
    won = lead_of(sdr)
    services.lead_update(org=org, lead=won, actor=actor, status=Status.WON)
    lost = lead_of(sdr)
    services.lead_update(org=org, lead=lost, actor=actor, status=Status.LOST,
                         lost_reason=lost_reason(org))

    response = login_client(manager).post("/leads/team/", {
        "action": "status", "status": "lost", "query": "tier=hot&page=2&evil=1",
        "lost_reason": lost_reason(org).pk,
        "lead": [lead.pk for lead in [*open_leads, won, lost]],
    }, follow=True)

    assert response.redirect_chain == [("/leads/team/?tier=hot&page=2", 302)]
    assert "Moved 3 leads to Lost; 1 was already lost; 1 was already closed." in page_of(
        response)
    assert statuses(*open_leads) == [Status.LOST] * 3


def test_a_manager_reassigns_the_selected_leads_and_is_told_what_happened(
    org, manager, sdr, login_client
):
    taker = make_membership(org, role=Role.SDR, capacity=20,
                            user=UserFactory(username="dev", first_name="Dev",
                                             last_name="Iyer"))
    leads = [lead_of(sdr), lead_of(sdr)]
    won = lead_of(sdr)
    services.lead_update(org=org, lead=won, actor=Actor.for_member(manager), status=Status.WON)

    response = login_client(manager).post("/leads/team/", {
        "action": "reassign", "owner": taker.pk, "lead": [*(lead.pk for lead in leads), won.pk,
                                                         "x"],
    }, follow=True)

    page = page_of(response)
    assert "Reassigned 2 leads to Dev Iyer; 1 was already closed; 1 was not found." in page
    assert set(Lead.objects.filter(pk__in=[lead.pk for lead in leads])
               .values_list("owner_id", flat=True)) == {taker.pk}
    assert LeadAssignment.objects.filter(to_owner=taker, actor=manager).count() == 2


def test_another_tenants_lead_ids_in_a_bulk_action_are_not_found_and_nothing_changes(
    org, other_org, manager, login_client
):
    make_membership(other_org, role=Role.SDR)
    outsider_owner = make_membership(other_org, role=Role.SDR)
    theirs = [make_lead(other_org, **HOT), make_lead(other_org)]
    before = list(Lead.objects.filter(pk__in=[lead.pk for lead in theirs])
                  .values_list("pk", "status", "owner_id"))
    client = login_client(manager)

    moved = client.post("/leads/team/", {"action": "status", "status": "lost",
                                         "lost_reason": lost_reason(org).pk,
                                         "lead": [lead.pk for lead in theirs]}, follow=True)
    reassigned = client.post("/leads/team/", {"action": "reassign", "owner": manager.pk,
                                              "lead": [lead.pk for lead in theirs]}, follow=True)
    to_outsider = client.post("/leads/team/", {"action": "reassign", "owner": outsider_owner.pk,
                                               "lead": [theirs[0].pk]}, follow=True)

    assert "No lead moved to Lost; 2 were not found." in page_of(moved)
    assert "were not found." in page_of(reassigned)
    assert "Choose who in your team takes the selected leads." in page_of(to_outsider)
    assert list(Lead.objects.filter(pk__in=[lead.pk for lead in theirs])
                .values_list("pk", "status", "owner_id")) == before


def test_a_bulk_action_with_nothing_selected_or_nothing_chosen_is_explained(
    org, manager, sdr, login_client
):
    lead = lead_of(sdr)
    client = login_client(manager)
    nothing = client.post("/leads/team/", {"action": "status", "status": "lost"}, follow=True)
    no_status = client.post("/leads/team/", {"action": "status", "lead": [lead.pk]},
                            follow=True)
    no_owner = client.post("/leads/team/", {"action": "reassign", "lead": [lead.pk]},
                           follow=True)
    assert "Select at least one lead first." in page_of(nothing)
    assert "Choose the status the selected leads move to." in page_of(no_status)
    assert "Choose who in your team takes the selected leads." in page_of(no_owner)
    assert statuses(lead) == [Status.NEW]


def test_an_sdr_cannot_use_the_bulk_actions(org, sdr, other_sdr, login_client):
    lead = lead_of(other_sdr, **HOT)
    response = login_client(sdr).post("/leads/team/", {"action": "reassign", "owner": sdr.pk,
                                                       "lead": [lead.pk]})
    assert response.status_code == 403
    changed = login_client(sdr).post("/leads/team/", {"action": "status", "status": "lost",
                                                      "lead": [lead.pk]})
    assert changed.status_code == 403
    lead.refresh_from_db()
    assert (lead.owner_id, lead.status) == (other_sdr.pk, Status.NEW)


def test_a_bulk_action_without_the_csrf_token_is_refused(org, manager, sdr):
    lead = lead_of(sdr)
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager.user)
    response = client.post("/leads/team/", {"action": "status", "status": "lost",
                                            "lead": [lead.pk]})
    assert response.status_code == 403
    assert statuses(lead) == [Status.NEW]
    assert Lead.objects.get(pk=lead.pk).tier == Tier.COLD
