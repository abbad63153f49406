"""The unassigned queue under concurrency, on PostgreSQL: many drains at once on two real
Celery workers, claims racing each other and racing drains. No lead is ever assigned twice
and nobody goes over capacity.

Only in the PostgreSQL + Redis pass: the workers are subprocesses that need a database and a
broker another process can reach, and SQLite serialises every writer anyway.
"""

import re
import subprocess
import time
from pathlib import Path

import pytest
from django.db.models import Count

from flexoraa import services as core_services
from flexoraa.actors import Actor
from flexoraa.models import Membership, Role
from flexoraa.selectors import audit_chain_first_break
from leads import selectors, services, tasks
from leads.errors import AtCapacity, LeadTaken
from leads.models import AssignmentReason, Lead, LeadAssignment, LeadEvent
from tests.factories import SETUP_ACTOR, make_membership
from tests.flexoraa.stack_support import (
    broker_purge,
    stack_logs,
    stack_start,
    stack_stop,
    wait_for_sessions_closed,
)
from tests.leads.factories import make_lead
from tests.support import errors_of, needs_postgres, needs_redis, run_together

pytestmark = [needs_postgres, needs_redis]

LEADS = 120
FIRST_CAPACITIES = (10, 15, 20, 10, 15, 20)  # room for 90 of the 120
DRAINS_AT_ONCE = 40
STEPS = 30  # then one more slot at a time, each with its own drains: room for all 120
WAIT_SECONDS = 180
SUCCEEDED = re.compile(r"Task flexoraa\.leads\.unassigned_queue_drain\[[^\]]+\] succeeded")
RAISED = re.compile(r"Task flexoraa\.leads\.unassigned_queue_drain\[[^\]]+\] raised")


def drains_done(logs: dict[str, Path]) -> dict[str, int]:
    done = {}
    for name, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        assert not RAISED.search(text), f"a drain failed on {name}:\n{text[-4000:]}"
        done[name] = len(SUCCEEDED.findall(text))
    return done


def wait_for_drains(expected: int, logs, processes) -> dict[str, int]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        exited = [name for name, process in processes.items() if process.poll() is not None]
        if exited:
            pytest.fail(f"{', '.join(exited)} exited early\n{stack_logs(logs, processes)}")
        done = drains_done(logs)
        if sum(done.values()) >= expected:
            return done
        time.sleep(0.3)
    pytest.fail(f"only {drains_done(logs)} of {expected} drains ran in {WAIT_SECONDS}s\n"
                f"{stack_logs(logs, processes)}")


def assert_nobody_over_capacity(sdrs):
    for sdr in sdrs:
        held = Lead.objects.filter(owner=sdr, status__in=selectors.OPEN_STATUSES).count()
        capacity = Membership.objects.get(pk=sdr.pk).capacity
        assert held <= capacity, (sdr.pk, held, capacity)


def assert_assigned_at_most_once(org):
    twice = (LeadAssignment.objects.for_org(org).values("lead").annotate(n=Count("pk"))
             .filter(n__gt=1))
    assert list(twice) == []
    assigned_events = (LeadEvent.objects.for_org(org).filter(kind=LeadEvent.Kind.ASSIGNED)
                       .values("lead").annotate(n=Count("pk")).filter(n__gt=1))
    assert list(assigned_events) == []


def test_many_drains_at_once_on_two_real_workers_assign_each_lead_once_within_capacity(
    transactional_db, org, tmp_path
):
    make_membership(org, role=Role.MANAGER)
    sdrs = [make_membership(org, capacity=0) for _ in FIRST_CAPACITIES]
    leads = [make_lead(org) for _ in range(LEADS)]
    assert not any(lead.owner_id for lead in leads)
    # Room appears behind the drains' backs (no drain enqueued for it): the drains below race
    # each other for it.
    for sdr, capacity in zip(sdrs, FIRST_CAPACITIES, strict=True):
        Membership.objects.filter(pk=sdr.pk).update(capacity=capacity)

    broker_purge()
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        for name in ("worker-a", "worker-b"):
            processes[name], logs[name] = stack_start(name, [
                "worker", "-Q", "default", "--concurrency", "1", "--pool", "solo",
                "-n", f"{name}@%h", "--without-mingle", "--without-gossip",
            ], tmp_path)

        for _ in range(DRAINS_AT_ONCE):
            tasks.unassigned_queue_drain.delay(org.pk)
        wait_for_drains(DRAINS_AT_ONCE, logs, processes)

        assert LeadAssignment.objects.for_org(org).count() == sum(FIRST_CAPACITIES)
        assert selectors.unassigned_leads(org).count() == LEADS - sum(FIRST_CAPACITIES)
        for sdr, capacity in zip(sdrs, FIRST_CAPACITIES, strict=True):
            assert Lead.objects.filter(owner=sdr).count() == capacity
        assert_assigned_at_most_once(org)

        # One more slot at a time through the real trigger (membership_update enqueues a
        # drain after its commit), each with a second drain racing it.
        for step in range(STEPS):
            sdr = Membership.objects.get(pk=sdrs[step % len(sdrs)].pk)
            core_services.membership_update(org=org, membership=sdr, actor=SETUP_ACTOR,
                                            capacity=sdr.capacity + 1)
            tasks.unassigned_queue_drain.delay(org.pk)
        done = wait_for_drains(DRAINS_AT_ONCE + 2 * STEPS, logs, processes)

        assert all(done.values()), f"both workers must have drained: {done}"
        assert not selectors.unassigned_leads(org).exists()
        assert LeadAssignment.objects.for_org(org).count() == LEADS
        assert set(LeadAssignment.objects.for_org(org).values_list("reason", flat=True)) == {
            AssignmentReason.QUEUE}
        assert_assigned_at_most_once(org)
        assert_nobody_over_capacity(sdrs)
        assert audit_chain_first_break(org) is None
        print(f"\n{LEADS} queued leads, {DRAINS_AT_ONCE + 2 * STEPS} drains on two workers "
              f"({done}); assigned {LeadAssignment.objects.for_org(org).count()}, "
              f"assigned twice 0")
    finally:
        for process in processes.values():
            stack_stop(process)
        wait_for_sessions_closed()
        broker_purge()


@pytest.mark.django_db(transaction=True)
def test_two_claims_of_one_lead_at_once_one_wins_and_the_other_is_told(org):
    make_membership(org, role=Role.MANAGER)
    first, second = (make_membership(org, capacity=0) for _ in range(2))
    lead = make_lead(org)
    Membership.objects.filter(pk__in=[first.pk, second.pk]).update(capacity=5)
    members = [Membership.objects.get(pk=first.pk), Membership.objects.get(pk=second.pk)]

    outcomes = run_together(2, lambda index: services.lead_claim(
        org=org, lead=lead, actor=Actor.for_member(members[index])))

    errors = errors_of(outcomes)
    assert len(errors) == 1 and isinstance(errors[0], LeadTaken), outcomes
    assert errors[0].message == "Someone else took this lead a moment ago."
    winner = next(outcome for outcome in outcomes if not isinstance(outcome, Exception))
    assert Lead.objects.get(pk=lead.pk).owner_id == winner.owner_id
    assert LeadAssignment.objects.for_org(org).filter(lead=lead).count() == 1


@pytest.mark.django_db(transaction=True)
def test_claims_racing_drains_never_give_a_lead_twice_or_pass_capacity(org):
    make_membership(org, role=Role.MANAGER)
    sdrs = [make_membership(org, capacity=0) for _ in range(4)]
    leads = [make_lead(org) for _ in range(40)]
    Membership.objects.filter(pk__in=[s.pk for s in sdrs]).update(capacity=8)  # room for 32
    members = [Membership.objects.get(pk=s.pk) for s in sdrs]

    def work(index):
        if index % 2:
            return services.unassigned_queue_drain(org=org)
        member = members[index // 2 % len(members)]
        taken = 0
        for lead in leads[index:index + 10]:
            try:
                services.lead_claim(org=org, lead=lead, actor=Actor.for_member(member))
                taken += 1
            except (LeadTaken, AtCapacity):
                pass
        return taken

    outcomes = run_together(8, work)

    assert errors_of(outcomes) == []
    assert_assigned_at_most_once(org)
    assert_nobody_over_capacity(sdrs)
    assert LeadAssignment.objects.for_org(org).count() == 32
    assert selectors.unassigned_leads(org).count() == 8
    assert audit_chain_first_break(org) is None
