"""Queueing stored rows' ids in batches from a background thread."""

import json
import threading
import time

import pytest

from flexoraa.batching import IdBatcher


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_ids_added_by_many_requests_go_out_together_in_batches_of_the_set_size():
    published, done = [], threading.Event()

    def publish(ids):
        published.append(ids)
        if sum(map(len, published)) == 250:
            done.set()

    batcher = IdBatcher("test", publish, interval=lambda: 0.05, batch_size=100)
    for start in range(0, 250, 10):
        batcher.add(list(range(start, start + 10)))
    assert done.wait(5)
    assert sorted(i for batch in published for i in batch) == list(range(250))
    assert all(len(batch) <= 100 for batch in published)
    assert len(published) < 25  # fewer tasks than requests


def test_an_interval_of_zero_publishes_at_once_in_the_callers_thread():
    published = []
    batcher = IdBatcher("test", lambda ids: published.append((ids, threading.get_ident())),
                        interval=lambda: 0, batch_size=100)
    batcher.add([1, 2])
    assert published == [([1, 2], threading.get_ident())]


def test_a_broker_failure_is_logged_and_never_reaches_the_request(caplog):
    def publish(ids):
        raise ConnectionError("broker down")

    batcher = IdBatcher("test", publish, interval=lambda: 0, batch_size=100)
    batcher.add([7])  # does not raise: the redrive job finds the rows later
    assert "could not queue a batch" in caplog.text


def test_a_batch_the_broker_refused_goes_out_once_the_broker_is_back():
    published, broker_up, done = [], threading.Event(), threading.Event()

    def publish(ids):
        if not broker_up.is_set():
            raise ConnectionError("broker down")
        published.append(ids)
        done.set()

    batcher = IdBatcher("test", publish, interval=lambda: 0.01, batch_size=100)
    batcher.add([1, 2, 3])
    time.sleep(0.1)  # a few refused tries
    assert published == []
    broker_up.set()
    assert done.wait(5), "the held ids were never published"
    assert published == [[1, 2, 3]]


def test_flush_publishes_what_is_held_now():
    published = []
    batcher = IdBatcher("test", published.append, interval=lambda: 60, batch_size=2)
    batcher.add([1])
    assert published == []
    assert batcher.flush() == 1
    assert published == [[1]]


@pytest.mark.django_db
def test_webhook_posts_are_queued_as_one_task_when_batched(
    client, org, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from agents.meta_payloads import meta_signature, whatsapp_message_payload
    from flexoraa import tasks as core_tasks
    from tests.agents.factories import make_channel

    settings.WEBHOOK_ENQUEUE_INTERVAL_SECONDS = 0.2
    queued = []
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", queued.append)
    channel = make_channel(org)
    for n in range(5):
        body = json.dumps(whatsapp_message_payload(
            phone_number_id=channel.external_id, wa_id="919812345678", text=f"hi {n}",
            message_id=f"wamid.BATCH{n}", timestamp=1750000000 + n, name="Asha")).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/webhooks/whatsapp/", body,
                                   content_type="application/json",
                                   HTTP_X_HUB_SIGNATURE_256=meta_signature(
                                       body, settings.META_APP_SECRET))
        assert response.status_code == 200
    wait_for(lambda: sum(map(len, queued)) == 5)
    assert len(queued) == 1 and len(queued[0]) == 5
