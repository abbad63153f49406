"""The webhook inbox when the broker loses what it held: the rows are the truth, and the
running stack (this process as the web node, a real worker and beat) processes every stored
event once, by itself, within two minutes. PostgreSQL + Redis pass only."""

import json
import time

import pytest
from django.conf import settings

from agents.meta_payloads import meta_signature, whatsapp_message_payload
from agents.models import ChannelKind, Message
from flexoraa.celery import app as celery_app
from flexoraa.jobs import schedules_sync
from flexoraa.models import DeliveryState, WebhookDelivery
from flexoraa.webhooks.services import deliveries_enqueue_flush
from tests.agents.conftest import nlu_model  # noqa: F401  (the worker reads the model)
from tests.agents.factories import make_channel
from tests.flexoraa.stack_support import (
    broker_purge,
    stack_logs,
    stack_start,
    stack_stop,
    wait_for_sessions_closed,
)
from tests.support import needs_postgres, needs_redis

pytestmark = [needs_postgres, needs_redis]

MESSAGES = 300
LOST_WITH_THE_BROKER = 150
WITHIN_SECONDS = 120
TS = 1749416383


def _broker_flush() -> None:
    """Everything the broker holds is gone, as after a Redis restart without persistence."""
    with celery_app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()


def _post(client, channel, n: int):
    body = json.dumps(whatsapp_message_payload(
        channel.external_id, f"9198{n % 30:08d}", f"Message {n}: is the 6 pm slot free?",
        f"wamid.FAULT{n:04d}", TS + n, f"Person {n % 30}")).encode()
    response = client.post("/webhooks/whatsapp/", data=body, content_type="application/json",
                           headers={"X-Hub-Signature-256": meta_signature(
                               body, settings.META_APP_SECRET)})
    assert response.status_code == 200, response.content


def test_a_broker_flushed_mid_stream_loses_nothing_and_processes_each_event_once(
    transactional_db, org, client, tmp_path, nlu_model  # noqa: F811
):
    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    schedules_sync()  # the redrive runs every minute, as declared
    broker_purge()
    processes, logs = {}, {}
    try:
        processes["beat"], logs["beat"] = stack_start(
            "beat", ["beat", "--schedule", str(tmp_path / "celerybeat-schedule"),
                     "--pidfile", str(tmp_path / "celerybeat.pid")], tmp_path)
        # The first half is stored and queued while no worker listens; then the broker loses
        # every queued task.
        for n in range(LOST_WITH_THE_BROKER):
            _post(client, channel, n)
        deliveries_enqueue_flush()
        _broker_flush()
        flushed_at = time.monotonic()
        processes["worker"], logs["worker"] = stack_start(
            "worker", ["worker", "-Q", "webhooks,ai,periodic,default", "--concurrency", "2",
                       "-n", "fault-worker@%h", "--without-mingle", "--without-gossip"],
            tmp_path)
        for n in range(LOST_WITH_THE_BROKER, MESSAGES):
            _post(client, channel, n)
        deliveries_enqueue_flush()

        pending = WebhookDelivery.objects.exclude(state=DeliveryState.PROCESSED)
        while pending.exists():
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                pytest.fail(f"{', '.join(exited)} exited early\n{stack_logs(logs, processes)}")
            if time.monotonic() - flushed_at > WITHIN_SECONDS:
                pytest.fail(f"{pending.count()} deliveries still not processed "
                            f"{WITHIN_SECONDS} s after the flush; states: "
                            f"{list(pending.values('state', 'attempts', 'last_error')[:5])}\n"
                            f"{stack_logs(logs, processes)}")
            time.sleep(1)
        took = time.monotonic() - flushed_at

        assert WebhookDelivery.objects.count() == MESSAGES
        messages = Message.objects.for_org(org)
        assert messages.count() == MESSAGES
        assert messages.values("provider_message_id").distinct().count() == MESSAGES
        assert set(WebhookDelivery.objects.values_list("outcome", flat=True)) == {"stored"}
        print(f"{MESSAGES} events, {LOST_WITH_THE_BROKER} of them lost with the broker: all "
              f"processed once, {took:.0f} s after the flush")
    finally:
        for process in processes.values():
            stack_stop(process)
        wait_for_sessions_closed()
        broker_purge()
