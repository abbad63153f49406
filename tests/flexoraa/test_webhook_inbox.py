"""The life of a stored webhook delivery, the same for every provider: waits that grow after
each failure, the redrive of what was never processed, replay of what failed for good, and
the console's page of deliveries."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from flexoraa import tasks as core_tasks
from flexoraa.actors import Actor
from flexoraa.models import AuditEvent, DeliveryState, WebhookDelivery
from flexoraa.webhooks.adapters import (
    DeliveryMalformed,
    WebhookAdapter,
    adapter_for,
    adapter_register,
    providers,
)
from flexoraa.webhooks.services import (
    LONGEST_RETRY_WAIT,
    REDRIVE_AFTER,
    REQUEUE_GAP,
    deliveries_redrive,
    deliveries_replay,
    delivery_process,
    retry_wait,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """What the inbox queues, instead of a broker."""
    published = []
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", published.append)
    return published


def make_delivery(org=None, *, provider="razorpay", event_id="evt_1", state="pending",
                  age=timedelta(minutes=5), **fields):
    delivery = WebhookDelivery.objects.create(
        provider=provider, event_id=event_id, event_type="payment.captured",
        payload={"event": "payment.captured"}, organization=org, state=state, **fields)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - age)
    delivery.refresh_from_db()
    return delivery


# --- adapters --------------------------------------------------------------------------------

def test_every_provider_with_a_webhook_address_has_its_adapter():
    assert providers() == ["instagram", "messenger", "razorpay", "whatsapp"]
    assert all(adapter_for(name).provider == name for name in providers())


def test_a_second_adapter_for_a_provider_is_refused():
    class Impostor(WebhookAdapter):
        provider = "razorpay"

    with pytest.raises(ValueError, match="Two webhook adapters"):
        adapter_register(Impostor())


def test_the_processing_task_retries_only_when_the_database_is_gone():
    from django.db import InterfaceError, OperationalError

    task = core_tasks.process_webhook_deliveries
    assert (task.name, task.queue) == ("flexoraa.process_webhook_deliveries", "webhooks")
    assert set(task.autoretry_for) == {OperationalError, InterfaceError}


# --- waits after failures --------------------------------------------------------------------

def test_the_wait_after_each_failure_doubles_from_thirty_seconds_up_to_an_hour():
    waits = [retry_wait(attempts) for attempts in range(1, 12)]
    assert waits[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2),
                         timedelta(minutes=4)]
    assert all(later >= earlier for earlier, later in pairwise(waits))
    assert waits[-1] == LONGEST_RETRY_WAIT == timedelta(hours=1)


def test_an_unknown_error_waits_then_after_the_adapters_attempts_is_failed_for_good(
    monkeypatch, caplog
):
    adapter = adapter_for("razorpay")

    def explode(delivery):
        raise RuntimeError("provider shape changed")

    monkeypatch.setattr(adapter, "apply", explode)
    delivery = make_delivery()
    for attempt in range(1, adapter.max_attempts):
        assert delivery_process(delivery_id=delivery.pk) == "failed"
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, attempt)
        assert delivery.next_attempt_at - timezone.now() <= retry_wait(attempt)
        assert delivery.next_attempt_at > timezone.now()
    assert delivery_process(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.outcome, delivery.attempts) == (
        DeliveryState.FAILED, "gave_up", adapter.max_attempts)
    assert delivery.last_error == "RuntimeError: provider shape changed"
    assert "webhook delivery gave up" in caplog.text
    # Failed for good is left alone until a person replays it.
    assert delivery_process(delivery_id=delivery.pk) == "already_failed"


def test_a_malformed_event_is_failed_at_once(monkeypatch):
    adapter = adapter_for("razorpay")

    def unreadable(delivery):
        raise DeliveryMalformed("no payment in the event")

    monkeypatch.setattr(adapter, "apply", unreadable)
    delivery = make_delivery()
    assert delivery_process(delivery_id=delivery.pk) == "malformed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (
        DeliveryState.FAILED, 1, "malformed: no payment in the event")


# --- the redrive -----------------------------------------------------------------------------

def test_the_redrive_queues_pending_rows_older_than_thirty_seconds_whose_wait_is_over(
    queued
):
    now = timezone.now()
    lost = make_delivery(event_id="lost", age=REDRIVE_AFTER + timedelta(seconds=5))
    make_delivery(event_id="fresh", age=REDRIVE_AFTER - timedelta(seconds=5))
    waited = make_delivery(event_id="waited", next_attempt_at=now - timedelta(seconds=1))
    make_delivery(event_id="waiting", next_attempt_at=now + timedelta(minutes=3))
    make_delivery(event_id="done", state=DeliveryState.PROCESSED)
    make_delivery(event_id="failed", state=DeliveryState.FAILED)

    assert deliveries_redrive(now=now) == {"queued": 2, "failed": 1}
    assert sorted(id for batch in queued for id in batch) == sorted([lost.pk, waited.pk])


def test_a_row_the_redrive_queued_is_not_queued_again_while_it_waits_its_turn(queued):
    now = timezone.now()
    make_delivery(event_id="slow queue")
    assert deliveries_redrive(now=now)["queued"] == 1
    assert deliveries_redrive(now=now + timedelta(minutes=1))["queued"] == 0
    assert deliveries_redrive(now=now + REQUEUE_GAP + timedelta(seconds=1))["queued"] == 1


def test_the_redrive_is_a_job_that_runs_every_minute():
    from flexoraa.schedules import SCHEDULES

    (job,) = [job for job in SCHEDULES if job.name == "flexoraa.webhook_deliveries_redrive"]
    assert job.every == timedelta(minutes=1)


# --- replay ----------------------------------------------------------------------------------

def test_a_replay_puts_failed_deliveries_back_with_fresh_attempts_and_audits_it(
    org, manager, queued, django_capture_on_commit_callbacks
):
    failed = make_delivery(org, event_id="f", state=DeliveryState.FAILED, attempts=10,
                           outcome="gave_up", last_error="RuntimeError: boom")
    done = make_delivery(org, event_id="d", state=DeliveryState.PROCESSED, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        replayed = deliveries_replay(deliveries=[failed, done],
                                     actor=Actor.for_member(manager))
    assert replayed == 1
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.outcome, failed.last_error) == (
        DeliveryState.PENDING, 0, "", "")
    done.refresh_from_db()
    assert done.state == DeliveryState.PROCESSED
    assert queued == [[failed.pk]]
    event = AuditEvent.objects.for_org(org).get(action="webhook_delivery.replayed")
    assert event.actor_user_id == manager.user_id


# --- the console -----------------------------------------------------------------------------

def test_a_manager_sees_their_organizations_deliveries_only_and_filters_them(
    manager_client, org, other_org
):
    make_delivery(org, event_id="ours", state=DeliveryState.FAILED,
                  last_error="malformed: no payment")
    theirs = make_delivery(other_org, event_id="theirs")
    unmatched = make_delivery(None, event_id="nobody's")
    page = manager_client.get("/admin/flexoraa/webhookdelivery/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "malformed: no payment" in text
    assert "theirs" not in text and "nobody" not in text
    for filtered in ("?state__exact=failed", "?provider=razorpay", "?sanitized__exact=0"):
        assert manager_client.get(f"/admin/flexoraa/webhookdelivery/{filtered}"
                                  ).status_code == 200
    for foreign in (theirs, unmatched):
        response = manager_client.get(f"/admin/flexoraa/webhookdelivery/{foreign.pk}/change/")
        assert response.status_code == 302  # the console's "does not exist"


def test_a_manager_replays_a_failed_delivery_from_the_console(
    manager_client, org, queued, django_capture_on_commit_callbacks
):
    failed = make_delivery(org, event_id="again", state=DeliveryState.FAILED, attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post("/admin/flexoraa/webhookdelivery/", {
            "action": "replay", "_selected_action": [failed.pk]}, follow=True)
    assert response.status_code == 200
    assert "1 deliveries queued again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.state == DeliveryState.PENDING
    assert queued == [[failed.pk]]


def test_a_platform_superuser_sees_every_tenants_deliveries(client, org, other_org):
    make_delivery(org, event_id="ours")
    make_delivery(other_org, event_id="theirs")
    make_delivery(None, event_id="unmatched")
    admin = get_user_model().objects.create_superuser("root", "root@example.test",
                                                      "Root-Password-2026")
    client.force_login(admin)
    text = client.get("/admin/flexoraa/webhookdelivery/?o=1").content.decode()
    assert all(event_id in text for event_id in ("ours", "theirs", "unmatched"))
