"""Low-balance alerts: told once per crossing to owners and managers, re-armed when the balance
recovers or the threshold moves, run hourly under the job lease."""


import pytest

from billing import services, tasks
from billing.models import LedgerReason, TokenWallet
from billing.schedules import SCHEDULES
from flexoraa import jobs
from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import AuditEvent, JobLease, JobRun, Role
from flexoraa.selectors import audit_chain_first_break
from tests.factories import SETUP_ACTOR, make_membership
from tests.support import errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db

JOB = "billing.low_balance_alerts"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def owner(org):
    return make_membership(org, role=Role.OWNER)


@pytest.fixture
def outbox(settings, mailoutbox):
    settings.EMAIL_BACKEND = LOCMEM
    return mailoutbox


_keys = iter(range(10**6))


def credit(org, amount):
    services.wallet_credit(org=org, amount=amount, reason=LedgerReason.PURCHASE,
                           idempotency_key=f"credit-{next(_keys)}", actor=SETUP_ACTOR)


def debit(org, amount):
    services.wallet_debit(org=org, amount=amount, idempotency_key=f"debit-{next(_keys)}",
                          actor=SETUP_ACTOR)


def wallet(org) -> TokenWallet:
    return TokenWallet.objects.for_org(org).get()


def at_90_below_100(org, actor=SETUP_ACTOR):
    """A wallet with threshold 100 and balance 90, not yet told."""
    services.wallet_threshold_update(org=org, threshold=100, actor=actor)
    credit(org, 150)
    debit(org, 60)
    assert wallet(org).low_balance_alerted_at is None


def test_a_drop_below_the_threshold_is_told_once_to_owners_and_managers_however_often_it_runs(
    org, owner, manager, sdr, outbox, django_capture_on_commit_callbacks
):
    at_90_below_100(org, actor=Actor.for_member(manager))

    with django_capture_on_commit_callbacks(execute=True):
        first = services.low_balance_alerts_send()
        later = [services.low_balance_alerts_send() for _ in range(3)]
        debit(org, 40)  # further down, same crossing
        after_more_use = services.low_balance_alerts_send()

    assert first == {"alerted": 1, "rearmed": 0}
    assert later == [{"alerted": 0, "rearmed": 0}] * 3
    assert after_more_use == {"alerted": 0, "rearmed": 0}
    (message,) = outbox
    assert message.to == sorted([owner.user.email, manager.user.email])
    assert sdr.user.email not in message.to
    assert message.subject == "[Acme Leads] AI tokens are running low"
    assert "Your token balance is 90, below your alert level of 100." in message.body
    assert "/billing/" in message.body
    assert wallet(org).low_balance_alerted_at is not None
    event = AuditEvent.objects.for_org(org).get(action="wallet.low_balance_alerted")
    assert event.data == {"balance": 90, "threshold": 100}
    assert audit_chain_first_break(org) is None


def test_a_wallet_at_or_above_its_threshold_is_not_told(org, manager, outbox,
                                                        django_capture_on_commit_callbacks):
    services.wallet_threshold_update(org=org, threshold=100, actor=SETUP_ACTOR)
    credit(org, 100)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send() == {"alerted": 0, "rearmed": 0}
    assert outbox == []


def test_a_credit_back_above_the_threshold_re_arms_and_the_next_crossing_is_told_again(
    org, manager, outbox, django_capture_on_commit_callbacks
):
    at_90_below_100(org)
    with django_capture_on_commit_callbacks(execute=True):
        services.low_balance_alerts_send()
    assert len(outbox) == 1

    credit(org, 5)  # 95: still below, still the same crossing
    assert wallet(org).low_balance_alerted_at is not None
    credit(org, 45)  # 140: recovered
    assert wallet(org).low_balance_alerted_at is None
    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send() == {"alerted": 0, "rearmed": 0}
    assert len(outbox) == 1

    debit(org, 60)  # 80: the next crossing
    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send() == {"alerted": 1, "rearmed": 0}
        assert services.low_balance_alerts_send() == {"alerted": 0, "rearmed": 0}
    assert len(outbox) == 2
    assert "Your token balance is 80, below your alert level of 100." in outbox[1].body
    assert AuditEvent.objects.for_org(org).filter(action="wallet.low_balance_alerted").count() == 2


def test_the_job_re_arms_a_told_wallet_whose_threshold_was_lowered_elsewhere(
    org, manager, outbox, django_capture_on_commit_callbacks
):
    at_90_below_100(org)
    with django_capture_on_commit_callbacks(execute=True):
        services.low_balance_alerts_send()
    # As an edit in the admin would: the threshold moves without the service.
    TokenWallet.objects.for_org(org).update(low_balance_threshold=50)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send() == {"alerted": 0, "rearmed": 1}
        debit(org, 45)  # 45 < 50
        assert services.low_balance_alerts_send() == {"alerted": 1, "rearmed": 0}
    assert len(outbox) == 2


def test_each_tenant_below_its_threshold_is_told_once_and_only_its_own_managers(
    org, other_org, manager, outbox, django_capture_on_commit_callbacks
):
    other_manager = make_membership(other_org, role=Role.MANAGER)
    at_90_below_100(org)
    at_90_below_100(other_org)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send() == {"alerted": 2, "rearmed": 0}

    assert sorted(message.to for message in outbox) == sorted(
        [[manager.user.email], [other_manager.user.email]])


def test_a_failing_mail_server_does_not_undo_the_alert(
    org, manager, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    at_90_below_100(org)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send()["alerted"] == 1
    assert wallet(org).low_balance_alerted_at is not None


# --- the threshold ------------------------------------------------------------------------

@pytest.mark.parametrize("threshold", [-1, True, 1.5, "100", None, 10**12 + 1])
def test_a_threshold_that_is_not_a_whole_number_of_tokens_is_refused(org, manager, threshold):
    services.wallet_threshold_update(org=org, threshold=300, actor=Actor.for_member(manager))
    with pytest.raises(ValidationFailed) as refused:
        services.wallet_threshold_update(org=org, threshold=threshold,
                                         actor=Actor.for_member(manager))
    assert set(refused.value.fields) == {"low_balance_threshold"}
    assert wallet(org).low_balance_threshold == 300
    assert AuditEvent.objects.for_org(org).filter(action="wallet.threshold_updated").count() == 1


@pytest.mark.parametrize("threshold", [0, 10**12])
def test_a_threshold_from_0_to_10_to_the_12_is_kept_and_audited(org, manager, threshold):
    updated = services.wallet_threshold_update(org=org, threshold=threshold,
                                               actor=Actor.for_member(manager))
    assert updated.low_balance_threshold == threshold == wallet(org).low_balance_threshold
    event = AuditEvent.objects.for_org(org).get(action="wallet.threshold_updated")
    assert event.data == {"threshold": threshold} and event.actor_user_id == manager.user_id
    assert audit_chain_first_break(org) is None


def test_moving_the_threshold_re_arms_only_when_the_balance_is_no_longer_below_it(
    org, manager, outbox, django_capture_on_commit_callbacks
):
    at_90_below_100(org)
    with django_capture_on_commit_callbacks(execute=True):
        services.low_balance_alerts_send()

    services.wallet_threshold_update(org=org, threshold=95, actor=Actor.for_member(manager))
    assert wallet(org).low_balance_alerted_at is not None  # 90 still below 95: same crossing
    services.wallet_threshold_update(org=org, threshold=90, actor=Actor.for_member(manager))
    assert wallet(org).low_balance_alerted_at is None  # 90 is not below 90: re-armed
    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send()["alerted"] == 0
    services.wallet_threshold_update(org=org, threshold=200, actor=Actor.for_member(manager))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.low_balance_alerts_send()["alerted"] == 1
    assert len(outbox) == 2
    assert "below your alert level of 200" in outbox[1].body


# --- the periodic job ---------------------------------------------------------------------

def test_the_alert_job_is_declared_hourly_for_its_task():
    (job,) = [job for job in SCHEDULES if job.name == JOB]
    assert job.task == tasks.low_balance_alerts.name == JOB
    assert job.every.total_seconds() == 3600


def test_the_alert_task_runs_under_the_job_lease_and_records_a_job_run(
    org, manager, outbox, django_capture_on_commit_callbacks
):
    at_90_below_100(org)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.low_balance_alerts.apply().get() == {"alerted": 1, "rearmed": 0}

    run = JobRun.objects.get(name=JOB)
    assert run.outcome == JobRun.Outcome.SUCCEEDED and run.finished_at is not None
    assert run.detail == {"alerted": 1, "rearmed": 0}
    assert not JobLease.objects.filter(name=JOB).exists()
    assert len(outbox) == 1


def test_the_alert_task_skips_while_another_run_holds_the_lease(org, manager, outbox):
    at_90_below_100(org)
    holder = jobs.lease_acquire(JOB)

    assert tasks.low_balance_alerts.apply().get() == {"skipped": True}
    assert not JobRun.objects.filter(name=JOB).exists()
    assert wallet(org).low_balance_alerted_at is None

    jobs.lease_release(JOB, holder)
    assert tasks.low_balance_alerts.apply().get()["alerted"] == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_alert_runs_at_once_tell_each_crossing_once(org, manager, outbox):
    at_90_below_100(org)
    # Bypass the job lease: the row claim alone must keep the alert single.
    results = run_together(4, lambda _: services.low_balance_alerts_send())
    errors = errors_of(results)
    assert errors == []
    assert sum(result["alerted"] for result in results) == 1
    assert len(outbox) == 1
    assert AuditEvent.objects.for_org(org).filter(action="wallet.low_balance_alerted").count() == 1
