"""Intake: verification, dedupe by phone or email, scoring and routing in one transaction,
and the use cases the inbox and the agent call."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import AuditEvent
from flexoraa.selectors import audit_chain_first_break
from leads import services
from leads.errors import InvalidContact, StatusChangeRefused
from leads.models import Lead, LeadAssignment, LeadEvent, Source, Status, Tier
from tests.factories import SETUP_ACTOR
from tests.leads.factories import lost_reason, make_lead
from tests.support import errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db


def intake(org, source=Source.API, **values):
    return services.lead_intake(org=org, data=services.LeadInput(**values), source=source,
                                actor=SETUP_ACTOR)


def test_a_new_lead_is_verified_scored_routed_and_put_on_the_sla_clock(org, sdr, manager):
    before = timezone.now()
    result = intake(org, name="Asha", phone="98765 43210", email="Asha@Example.com",
                    need="CRM", timeline="immediate", authority="decision_maker")
    lead = result.lead
    assert result.created
    assert (lead.phone, lead.email) == ("+919876543210", "asha@example.com")
    assert lead.verification_status == "verified"
    assert lead.verification["phone"]["kind"] == "mobile"
    assert lead.owner_id == sdr.pk and lead.assigned_at is not None
    assert lead.tier == Tier.WARM and lead.score == lead.score_breakdown["total"]
    # WARM answers within an hour, and the owner must act within two SLAs.
    assert timedelta(minutes=59) < lead.first_response_due_at - before < timedelta(minutes=61)
    assert timedelta(minutes=119) < lead.leak_due_at - before < timedelta(minutes=121)
    kinds = set(LeadEvent.objects.for_org(org).filter(lead=lead).values_list("kind", flat=True))
    assert kinds == {"created", "scored", "assigned"}
    assert AuditEvent.objects.for_org(org).filter(action="lead.created").count() == 1


def test_the_same_phone_in_another_format_merges_into_the_existing_lead(org, sdr):
    first = intake(org, phone="+91 98765 43210").lead
    again = intake(org, phone="098765-43210", email="late@example.com", name="Ravi",
                   budget_amount=Decimal("90000"), budget_currency="inr",
                   source=Source.WEB_FORM)
    assert not again.created and again.lead.pk == first.pk
    first.refresh_from_db()
    assert (first.email, first.name, first.budget_currency) == ("late@example.com", "Ravi", "INR")
    assert first.source == Source.API  # where it first came from
    merged = LeadEvent.objects.for_org(org).get(lead=first, kind="merged")
    assert merged.data["source"] == "web_form"
    assert {"email", "name", "budget_amount"} <= set(merged.data["fields"])
    assert Lead.objects.for_org(org).count() == 1
    assert LeadAssignment.objects.for_org(org).count() == 1  # a merge is not a new routing


def test_the_same_email_in_another_case_merges(org, sdr):
    first = intake(org, email="Ravi@Example.com").lead
    assert intake(org, email="ravi@example.COM").lead.pk == first.pk


def test_a_contact_matching_two_leads_merges_into_the_older_and_names_the_other(org, sdr):
    by_phone = intake(org, phone="9876543210").lead
    by_email = intake(org, email="two@example.com").lead
    result = intake(org, phone="9876543210", email="two@example.com")
    assert result.lead.pk == by_phone.pk
    merged = LeadEvent.objects.for_org(org).get(lead=by_phone, kind="merged")
    assert merged.data["also_matches"] == [by_email.pk]
    by_phone.refresh_from_db()
    assert by_phone.email == ""  # never fused with the other lead's email


def test_the_same_phone_in_two_tenants_is_two_leads(org, other_org, sdr):
    assert intake(org, phone="9876543210").created
    assert intake(other_org, phone="9876543210").created


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"phone": "12345"}, "phone", "wrong number of digits"),
        ({"email": "not-an-email"}, "email", "not an email address"),
        ({}, "phone", "Give a phone number or an email address"),
        ({"email": "a@example.com", "budget_amount": Decimal("-5"), "budget_currency": "INR"},
         "budget_amount", "from 0"),
        ({"email": "a@example.com", "budget_amount": Decimal("5"), "budget_currency": "RUPEES"},
         "budget_currency", "three-letter"),
        ({"email": "a@example.com", "budget_amount": Decimal("5")}, "budget_currency",
         "which currency"),
        ({"email": "a@example.com", "timeline": "soonish"}, "timeline", "soonish"),
        ({"email": "a@example.com", "authority": "boss"}, "authority", "boss"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_a_reason_and_nothing_is_written(
    org, sdr, values, field, words
):
    with pytest.raises(ValidationFailed) as caught:
        intake(org, **values)
    assert field in caught.value.fields
    assert words in caught.value.message
    assert not Lead.objects.exists() and not LeadEvent.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="lead.").exists()


def test_an_invalid_phone_is_an_invalid_contact_error(org):
    with pytest.raises(InvalidContact):
        intake(org, phone="+1 555 555 5555")


def test_an_unknown_source_is_refused(org):
    with pytest.raises(ValidationFailed, match="source"):
        intake(org, source="fax", email="a@example.com")


def test_a_throwaway_email_is_taken_but_flagged(org, sdr):
    lead = intake(org, email="x@mailinator.com").lead
    assert lead.verification_status == "failed"
    assert lead.verification["email"]["disposable"] is True


def test_business_hours_push_the_sla_due_time_to_the_next_open_minute(org, sdr):
    org.business_hours = {"mon": ["09:00", "18:00"]}
    org.save()
    lead = intake(org, email="weekend@example.com").lead  # COLD: 24 h of open time
    local_due = timezone.localtime(lead.first_response_due_at, timezone.get_fixed_timezone(330))
    assert local_due.weekday() == 0 and 9 <= local_due.hour <= 18


def test_lead_update_rescores_and_a_hotter_lead_gets_the_faster_target(org, sdr):
    lead = intake(org, email="warmup@example.com").lead
    assert lead.tier == Tier.COLD
    cold_due = lead.first_response_due_at
    lead = services.lead_update(
        org=org, lead=lead, actor=Actor.for_member(sdr), need="ERP", budget_amount="500000",
        budget_currency="inr", authority="decision_maker", timeline="immediate",
    )
    assert lead.tier == Tier.HOT and lead.budget_currency == "INR"
    assert lead.first_response_due_at < cold_due
    assert lead.first_response_due_at - timezone.now() <= timedelta(minutes=5)
    assert lead.leak_due_at is None  # the owner acted


def test_status_moves_only_along_the_flow_and_closing_stops_the_clocks(org, sdr):
    lead = intake(org, email="flow@example.com").lead
    with pytest.raises(StatusChangeRefused):
        services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status="opted_out")
    lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status=Status.LOST,
                                lost_reason=lost_reason(org))
    assert lead.first_response_due_at is None and lead.leak_due_at is None
    with pytest.raises(StatusChangeRefused, match="cannot become won"):
        services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status=Status.WON)


def test_changing_the_phone_to_another_leads_phone_is_a_conflict(org, sdr):
    from flexoraa.errors import Conflict

    intake(org, phone="9876543210")
    other = intake(org, email="other@example.com").lead
    with pytest.raises(Conflict):
        services.lead_update(org=org, lead=other, actor=Actor.for_member(sdr), phone="98765 43210")


def test_first_response_is_recorded_once_and_stops_leakage(org, sdr):
    lead = intake(org, email="reply@example.com").lead
    at = timezone.now()
    lead = services.lead_mark_first_response(org=org, lead=lead, at=at, actor=Actor.for_member(sdr))
    assert lead.first_response_at == at and lead.leak_due_at is None
    services.lead_mark_first_response(org=org, lead=lead, at=at + timedelta(hours=1),
                                      actor=SETUP_ACTOR)
    lead.refresh_from_db()
    assert lead.first_response_at == at
    event = LeadEvent.objects.for_org(org).get(lead=lead, kind="first_response")
    assert event.data == {"met_sla": True} and event.actor_id == sdr.pk


def test_messages_update_engagement_and_rescore(org, sdr):
    lead = intake(org, email="chatty@example.com").lead
    sent = timezone.now()
    services.lead_message_record(org=org, lead=lead, direction="outbound", at=sent)
    lead = services.lead_message_record(org=org, lead=lead, direction="inbound",
                                        at=sent + timedelta(seconds=90))
    assert lead.inbound_count == 1 and lead.last_reply_seconds == 90
    assert lead.last_inbound_at == sent + timedelta(seconds=90)
    engagement = {f["name"]: f for f in lead.score_breakdown["factors"]}["engagement"]
    assert "replied within 5 minutes" in engagement["explanation"]


def test_the_nlu_reading_feeds_intent_and_budget_into_the_score(org, sdr):
    lead = intake(org, email="nlu@example.com").lead
    lead = services.lead_message_record(
        org=org, lead=lead, direction="inbound", at=timezone.now(),
        reading=services.MessageReading(at=timezone.now(), intent="high", confidence=0.9,
                                        budget_amount=Decimal("200000"), budget_currency="inr"))
    factors = {f["name"]: f["points"] for f in lead.score_breakdown["factors"]}
    assert factors["intent"] == 20 and factors["budget"] == 20
    with pytest.raises(ValidationFailed, match="intent"):
        services.lead_message_record(
            org=org, lead=lead, direction="inbound", at=timezone.now(),
            reading=services.MessageReading(at=timezone.now(), intent="extreme"))


def test_every_lead_write_keeps_the_audit_chain_whole(org, sdr, manager):
    lead = make_lead(org)
    services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), need="x")
    services.lead_reassign(org=org, lead=lead, owner_id=manager.pk, actor=Actor.for_member(manager))
    services.lead_mark_first_response(org=org, lead=lead, actor=Actor.for_member(manager))
    assert audit_chain_first_break(org) is None


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_of_the_same_phone_make_one_lead(org, sdr):
    results = run_together(8, lambda n: intake(org, phone="9876543210", name=f"Caller {n}"))
    errors = errors_of(results)
    assert errors == []
    assert Lead.objects.for_org(org).count() == 1
    assert sum(result.created for result in results) == 1
    assert LeadEvent.objects.for_org(org).filter(kind="merged").count() == 7
    assert audit_chain_first_break(org) is None


def test_the_anonymous_web_form_fills_blanks_but_never_rewrites_a_lead(org, sdr):
    lead = intake(org, email="vip@example.com", need="ERP for 200 seats",
                  timeline="immediate").lead
    again = intake(org, source=Source.WEB_FORM, email="vip@example.com", need="nothing",
                   timeline="later", authority="user")
    lead.refresh_from_db()
    assert again.lead.pk == lead.pk
    assert (lead.need, lead.timeline, lead.authority) == ("ERP for 200 seats", "immediate",
                                                          "user")
    merged = LeadEvent.objects.for_org(org).get(lead=lead, kind="merged")
    assert merged.data["not_applied"] == ["need", "timeline"]


def test_an_integration_may_update_the_answers_it_sent(org, sdr):
    lead = intake(org, email="update@example.com", timeline="later").lead
    intake(org, email="update@example.com", timeline="immediate")
    lead.refresh_from_db()
    assert lead.timeline == "immediate"


def test_every_problem_is_told_at_once(org):
    with pytest.raises(ValidationFailed) as caught:
        intake(org, phone="12", timeline="soonish")
    assert set(caught.value.fields) == {"phone", "timeline"}


@pytest.mark.parametrize(
    ("values", "field"),
    [({"email": "a" * 250 + "@example.com"}, "email"),
     ({"email": "a@example.com", "name": "Bad\x00name"}, "name"),
     ({"email": "a@example.com", "need": "nul\x00"}, "need")],
)
def test_text_the_database_cannot_hold_is_refused_up_front(org, values, field):
    with pytest.raises(ValidationFailed) as caught:
        intake(org, **values)
    assert field in caught.value.fields
    assert not Lead.objects.exists()


def test_a_reply_to_a_closed_lead_neither_meets_nor_misses_a_target(org, sdr):
    lead = intake(org, email="closed@example.com").lead
    lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status=Status.LOST,
                                lost_reason=lost_reason(org))
    services.lead_mark_first_response(org=org, lead=lead, actor=SETUP_ACTOR)
    assert LeadEvent.objects.for_org(org).get(lead=lead, kind="first_response").data == {
        "met_sla": None}


def test_allowed_status_changes_follow_the_flow(org, sdr):
    lead = intake(org, email="flowing@example.com").lead
    assert services.allowed_status_changes(lead) == ["contacted", "qualifying", "qualified",
                                                     "won", "lost"]
    lead = services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status=Status.WON)
    assert services.allowed_status_changes(lead) == []
    with pytest.raises(StatusChangeRefused, match="nothing else"):
        services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status=Status.LOST,
                             lost_reason=lost_reason(org))
