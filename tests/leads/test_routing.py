"""Routing: weighted round-robin by capacity, availability and capacity respected, tier pools,
and the unassigned queue when nobody in the pool has room."""

from collections import Counter

import pytest

from flexoraa.actors import Actor
from flexoraa.models import AuditEvent, Role
from leads import routing, selectors, services
from leads.models import AssignmentReason, Lead, LeadAssignment, Tier
from leads.services.assignment import QUEUED, Decision, OrgRouter
from leads.services.common import settings_locked
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import make_lead

COLD = {}  # intake values that score COLD: nothing known
HOT = {"need": "CRM now", "budget_amount": 500000, "budget_currency": "INR",
       "authority": "decision_maker", "timeline": "immediate"}


def shares(counter: Counter, ids) -> list[float]:
    total = sum(counter[pk] for pk in ids)
    return [counter[pk] / total for pk in ids]


def test_stride_pick_spreads_in_proportion_to_capacity():
    candidates = {1: 1, 2: 2, 3: 3}
    finishes = dict.fromkeys(candidates, 0.0)
    clock = 0.0
    counts = Counter()
    for _ in range(600):
        picked = routing.pick(
            [routing.Candidate(pk, capacity, 0, True, finishes[pk])
             for pk, capacity in candidates.items()], clock=clock)
        finishes[picked.membership_id] = picked.finish
        clock = picked.clock
        counts[picked.membership_id] += 1
    assert [counts[1], counts[2], counts[3]] == [100, 200, 300]


def test_an_sdr_back_from_away_starts_at_the_pool_clock_instead_of_a_burst():
    finishes = {1: 0.0, 2: 0.0}
    clock = 0.0
    for _ in range(100):  # only SDR 1 is available
        picked = routing.pick([routing.Candidate(1, 1, 0, True, finishes[1]),
                               routing.Candidate(2, 1, 0, False, finishes[2])], clock=clock)
        finishes[1], clock = picked.finish, picked.clock
    picks = []
    for _ in range(10):
        picked = routing.pick([routing.Candidate(pk, 1, 0, True, finishes[pk]) for pk in (1, 2)],
                              clock=clock)
        finishes[picked.membership_id], clock = picked.finish, picked.clock
        picks.append(picked.membership_id)
    assert Counter(picks) == {1: 5, 2: 5}


def test_nobody_eligible_gives_none():
    assert routing.pick([routing.Candidate(1, 2, 2), routing.Candidate(2, 0, 0),
                         routing.Candidate(3, 5, 0, is_available=False)], clock=0) is None
    assert routing.pick([routing.Candidate(1, 5, 0)], clock=0, exclude=frozenset({1})) is None


@pytest.mark.django_db
def test_a_thousand_leads_over_capacities_1_2_3_land_within_2_percent_of_1_2_3(org, manager):
    sdrs = [make_membership(org, capacity=capacity) for capacity in (1000, 2000, 3000)]
    for n in range(1000):
        make_lead(org, email=f"lead{n}@example.com")
    counts = Counter(Lead.objects.for_org(org).values_list("owner_id", flat=True))
    ids = [sdr.pk for sdr in sdrs]
    assert sum(counts[pk] for pk in ids) == 1000
    for share, expected in zip(shares(counts, ids), (1 / 6, 2 / 6, 3 / 6), strict=True):
        assert abs(share - expected) <= 0.02 * expected, (counts, ids)
    assert not LeadAssignment.objects.for_org(org).exclude(reason=AssignmentReason.ROUTING)


@pytest.mark.django_db
def test_an_sdr_at_capacity_or_away_gets_no_lead(org, manager):
    full = make_membership(org, capacity=1)
    away = make_membership(org, capacity=50, is_available=False)
    free = make_membership(org, capacity=50)
    first = make_lead(org)
    assert first.owner_id in (full.pk, free.pk)
    for _ in range(10):
        make_lead(org)
    owners = Counter(Lead.objects.for_org(org).values_list("owner_id", flat=True))
    assert owners[full.pk] <= 1
    assert owners[away.pk] == 0
    assert owners[free.pk] == 11 - owners[full.pk]


@pytest.mark.django_db
def test_closing_a_lead_frees_capacity(org, manager):
    sdr = make_membership(org, capacity=1)
    lead = make_lead(org)
    assert lead.owner_id == sdr.pk
    overflow = make_lead(org)
    assert overflow.owner_id is None  # queued: the manager is no overflow
    services.lead_update(org=org, lead=lead, actor=Actor.for_member(sdr), status="won")
    assert make_lead(org).owner_id == sdr.pk


@pytest.mark.django_db
def test_nobody_with_room_leaves_the_lead_unassigned_and_no_manager_gets_it(org, manager):
    other_manager = make_membership(org, role=Role.MANAGER)
    make_membership(org, capacity=0)
    first = make_lead(org)
    second = make_lead(org)
    assert (first.owner_id, second.owner_id) == (None, None)
    assert first.leak_due_at is None  # nobody to leak from
    assert not LeadAssignment.objects.for_org(org).exists()
    assert not Lead.objects.for_org(org).filter(owner__in=[manager, other_manager]).exists()
    assert list(selectors.unassigned_leads(org)) == [first, second]


@pytest.mark.django_db
def test_the_decision_to_queue_says_which_pool_had_no_room(org, manager):
    make_membership(org, capacity=0)
    router = OrgRouter(org, settings_locked(org))
    assert router.decide(Tier.COLD) == Decision(None, QUEUED, "No SDR in the COLD pool has room.")
    only = make_membership(org, capacity=5)
    router = OrgRouter(org, settings_locked(org))
    assert router.decide(Tier.HOT, exclude=frozenset({only.pk})) == Decision(
        None, QUEUED, "No other SDR in the HOT pool has room.")


@pytest.mark.django_db
def test_a_tenant_without_sdrs_queues_with_a_pool_that_has_nobody(org, manager):
    router = OrgRouter(org, settings_locked(org))
    assert router.decide(Tier.WARM) == Decision(None, QUEUED, "The WARM pool has no SDR.")


@pytest.mark.django_db
def test_a_tier_pool_takes_that_tiers_leads_and_the_other_tiers_go_to_everyone(org, manager):
    hot_sdr = make_membership(org, capacity=100)
    other_sdr = make_membership(org, capacity=100)
    services.routing_pool_member_add(org=org, tier=Tier.HOT, membership=hot_sdr, actor=SETUP_ACTOR)
    hot_owners = {make_lead(org, **HOT).owner_id for _ in range(4)}
    cold_owners = Counter(make_lead(org).owner_id for _ in range(4))
    assert hot_owners == {hot_sdr.pk}
    assert cold_owners == {hot_sdr.pk: 2, other_sdr.pk: 2}


@pytest.mark.django_db
def test_routing_state_never_leaks_between_tenants(org, other_org, manager):
    mine = make_membership(org, capacity=10)
    theirs = make_membership(other_org, capacity=10)
    make_membership(other_org, role=Role.MANAGER)
    assert make_lead(org).owner_id == mine.pk
    assert make_lead(other_org).owner_id == theirs.pk


@pytest.mark.django_db
def test_a_tier_that_does_not_exist_is_refused_for_a_pool(org, sdr):
    from flexoraa.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.routing_pool_member_add(org=org, tier="lukewarm", membership=sdr,
                                         actor=SETUP_ACTOR)
    assert "lukewarm" in caught.value.message and "tier" in caught.value.fields


@pytest.mark.django_db
def test_a_manager_reassigns_by_hand_and_the_reason_is_recorded(org, manager, sdr):
    lead = make_lead(org)
    second = make_membership(org, capacity=10)
    target = second if lead.owner_id != second.pk else sdr
    services.lead_reassign(org=org, lead=lead, owner_id=target.pk, actor=Actor.for_member(manager),
                           note="Speaks Tamil")
    lead.refresh_from_db()
    assert lead.owner_id == target.pk
    latest = LeadAssignment.objects.for_org(org).filter(lead=lead).first()
    assert (latest.reason, latest.detail, latest.actor_id) == (
        AssignmentReason.MANUAL, "Speaks Tamil", manager.pk)
    assert AuditEvent.objects.for_org(org).filter(action="lead.reassigned",
                                                  target_id=str(lead.pk)).exists()
