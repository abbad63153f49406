"""The signed WhatsApp webhook under load, through gunicorn on PostgreSQL + Redis, with the
load generator on the same machine. Run by `make bench`; prints one table, then asserts the
targets. Not part of `make test`.

Targets (issue 4, "Benchmark"):

* POST /webhooks/whatsapp/ (tenant lookup, signature, stored delivery, enqueue) answers at
  least 0.8 x the req/s of a plain Django view doing one ORM INSERT into the same table, served
  by the same gunicorn in the same run; the no-op view's req/s is shown beside them;
* its p99 latency at half its measured maximum, arrivals paced (open loop), is at most 50 ms;
* 10,000 distinct message events from 500 contacts, each delivered 3 times, shuffled and
  posted concurrently: no 5xx; a real Celery worker then turns them into exactly 10,000
  messages, and every one of the 10,000 stored deliveries is processed.

How: one gunicorn (``GUNICORN``) serves tests/load/bench_settings.py (the project plus
/bench/noop/ and /bench/insert/). ``CLIENTS`` threads, each with its own keep-alive
``http.client`` connection, send back to back (closed loop): a warm-up, then a fixed window;
the three views take turns, ``ROUNDS`` rounds, and each view's figure is the median of its
rounds; the webhook / INSERT ratio is the median of the rounds' own ratios (their windows run
back to back), so a burst of someone else's work on the machine falls on both sides alike. The two
POST views get the same bodies: distinct WhatsApp message events of the same size, built and
signed before the run (the INSERT view ignores the signature), so the client's cost per
request is the same for both. Each row shows how many cores were busy and how many of those
other work on the machine took: a low figure measured beside someone else's jobs can be told
from a regression (rerun it).

Server configurations tried on the 2-core machine (req/s of no-op / INSERT / webhook, 16
clients, median of 2 rounds, beside other people's jobs): sync -w 3: 1814 / 535 / 390;
sync -w 4: 1159 / 444 / 276; sync -w 5: 1881 / 654 / 382; gthread -w 4 --threads 2: 2022 /
560 / 361; gthread -w 2 --threads 4: 2447 / 608 / 396. Sync workers close every connection
(no keep-alive), so each request pays a TCP connect on both sides; two gthread workers with
four threads each serve best here. Webhook / INSERT stayed 0.58 to 0.73 under all five while
the endpoint published one Celery task per request; batching the publish
(WEBHOOK_ENQUEUE_INTERVAL_SECONDS) brought it to 0.9 or more.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from agents.meta_payloads import SIGNATURE_HEADER, meta_signature, whatsapp_message_payload
from agents.models import ChannelKind, Conversation, Direction, Message
from flexoraa.celery import app as celery_app
from flexoraa.models import WebhookDelivery
from tests.agents.factories import make_channel
from tests.factories import OrganizationFactory
from tests.load import http_bench
from tests.load.http_bench import Bodies, Result, Target
from tests.support import needs_postgres, needs_redis

# BENCH_GUNICORN="-w 4" tries another configuration; the default measured best on 2 cores.
GUNICORN = os.environ.get("BENCH_GUNICORN", "-k gthread -w 2 --threads 4").split()
CLIENTS = 16
WARMUP_SECONDS = 2.0
WINDOW_SECONDS = 6.0
ROUNDS = 5
# Bodies built per POST view and round: more than any view can take in warm-up + window.
MAX_RATE = 3000
PACED_WARMUP_SECONDS = 2.0
PACED_SECONDS = 10.0
EVENTS = 10_000
CONTACTS = 500
COPIES = 3
FLOOD_CLIENTS = 16
WORKER_TIMEOUT_SECONDS = 900
MIN_RATIO = 0.8
MAX_P99_MS = 50.0

PHONE_NUMBER_ID = "106540352242922"  # Meta's sample phone number id
WEBHOOK_PATH = "/webhooks/whatsapp/"
TEXTS = ["Hi, is the 2BHK in Andheri still available?", "What is the price per month?",
         "Can I visit on Saturday morning?", "Please send the brochure", "Any discount?"]

pytestmark = [needs_postgres, needs_redis, pytest.mark.postgres, pytest.mark.redis]


def signed_events(prefix: str, count: int, *, contacts: int, first_timestamp: int):
    """``count`` distinct WhatsApp message events as (raw body, headers), signed with the
    app secret; message ids have the same length, so every body has about the same size."""
    events = []
    for n in range(count):
        contact = n % contacts
        body = json.dumps(whatsapp_message_payload(
            phone_number_id=PHONE_NUMBER_ID, wa_id=f"9198{contact:08d}",
            text=TEXTS[n % len(TEXTS)], message_id=f"wamid.{prefix}{n:010d}",
            timestamp=first_timestamp + n, name=f"Bench Contact {contact:05d}",
        )).encode()
        events.append((body, {"Content-Type": "application/json",
                              SIGNATURE_HEADER: meta_signature(body, settings.META_APP_SECRET)}))
    return events


def post_target(name: str, path: str, prefix: str) -> Target:
    count = int(MAX_RATE * (WARMUP_SECONDS + WINDOW_SECONDS))
    return Target(name, path, Bodies(signed_events(prefix, count, contacts=CONTACTS,
                                                   first_timestamp=1_750_000_000)))


def broker_purge() -> int:
    """Drop every queued task: the rate runs enqueue one per stored delivery, and only the
    flood's are for the worker to process."""
    with celery_app.connection_for_write() as broker:
        return celery_app.control.purge(connection=broker)


class Worker:
    """A real Celery worker process on the test database and the Redis broker."""

    def __init__(self, log_path: Path):
        self.log_path = log_path

    def __enter__(self):
        env = {
            **os.environ,
            "DATABASE_URL": http_bench.database_url(),
            "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
            "DJANGO_SETTINGS_MODULE": "flexoraa.settings",
            "DEBUG": "false",
        }
        self.log = open(self.log_path, "w")  # closed in __exit__
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("celery")), "-A", "flexoraa", "worker",
             "-Q", "webhooks,default,periodic,ai", "-n", f"webhook-bench-{os.getpid()}@%h",
             "--loglevel", "WARNING"],
            cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc_info):
        self.process.terminate()  # a warm shutdown: the running task finishes
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def wait_until_processed(worker: Worker, expected: int) -> float:
    """Seconds from now until ``expected`` deliveries are stored and none is unprocessed."""
    started = time.perf_counter()
    deadline = started + WORKER_TIMEOUT_SECONDS
    while True:
        assert worker.process.poll() is None, worker.log_path.read_text(errors="replace")[-3000:]
        stored = WebhookDelivery.objects.count()
        waiting = WebhookDelivery.objects.filter(processed_at__isnull=True).count()
        if stored >= expected and waiting == 0:
            return time.perf_counter() - started
        assert time.perf_counter() < deadline, (
            f"{waiting:,} of {stored:,} deliveries unprocessed after "
            f"{WORKER_TIMEOUT_SECONDS} s", worker.log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.5)


def per_core(run: Result) -> float:
    """Answers per second for each core the benchmark itself had (busy minus other work)."""
    return run.rate / max(run.cores_busy - run.cores_other, 0.01)


def cores(run: Result) -> str:
    return f"{run.cores_busy:.2f} ({run.cores_other:.2f}) {per_core(run):>5.0f}"


def median_run(runs: list[Result]) -> Result:
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


@pytest.mark.django_db(transaction=True)  # committed rows, so the server processes see them
def test_the_signed_whatsapp_webhook_keeps_up_with_a_plain_insert_and_ingests_exactly_once(
        tmp_path):
    load_before = os.getloadavg()[0]
    org = OrganizationFactory(slug="bench-wa", name="bench-wa")
    make_channel(org, kind=ChannelKind.WHATSAPP, external_id=PHONE_NUMBER_ID)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    broker_purge()

    runs: dict[str, list[Result]] = {"noop": [], "insert": [], "webhook": []}
    with http_bench.Server(tmp_path / "gunicorn.log", gunicorn_args=GUNICORN,
                           ready_path="/bench/noop/",
                           settings_module="tests.load.bench_settings") as server:
        # --- 1. the maximum rate of three views, interleaved rounds ---------------------------
        for round_ in range(ROUNDS):
            targets = {
                "noop": Target("no-op view", "/bench/noop/"),
                "insert": post_target("one ORM INSERT view", "/bench/insert/", f"I{round_}"),
                "webhook": post_target("signed WhatsApp webhook", WEBHOOK_PATH, f"W{round_}"),
            }
            order = list(targets)[round_:] + list(targets)[:round_]
            for key in order:
                runs[key].append(http_bench.closed_loop(
                    server.port, targets[key], clients=CLIENTS, warmup=WARMUP_SECONDS,
                    seconds=WINDOW_SECONDS, server=server))
        noop, insert, webhook = (median_run(runs[key]) for key in ("noop", "insert", "webhook"))
        # Each round's webhook and INSERT windows run back to back, so their ratio is taken per
        # round and the median of those is the figure: a slow spell of the shared machine
        # lowers both sides of one round instead of one side of the comparison.
        round_ratios = [hook.rate / plain.rate
                        for hook, plain in zip(runs["webhook"], runs["insert"], strict=True)]
        ratio = statistics.median(round_ratios)

        # --- 2. latency at half the webhook's maximum, paced arrivals -------------------------
        paced_rate = webhook.rate / 2
        paced_target = Target("signed WhatsApp webhook, paced", WEBHOOK_PATH, Bodies(
            signed_events("P", int(paced_rate * (PACED_WARMUP_SECONDS + PACED_SECONDS)) + 1,
                          contacts=CONTACTS, first_timestamp=1_750_000_000)))
        paced = http_bench.open_loop(server.port, paced_target, rate=paced_rate,
                                     warmup=PACED_WARMUP_SECONDS, seconds=PACED_SECONDS,
                                     server=server)
        # The same arrivals on the plain INSERT view: the tail the machine itself adds.
        paced_insert = http_bench.open_loop(
            server.port, post_target("one ORM INSERT view, paced", "/bench/insert/", "PI"),
            rate=paced_rate, warmup=PACED_WARMUP_SECONDS, seconds=PACED_SECONDS,
            server=server)

        # --- 3. 10,000 events x 3 deliveries, shuffled, concurrently --------------------------
        broker_purge()
        WebhookDelivery.objects.all().delete()  # the rate runs' rows; the flood counts alone
        deliveries = signed_events("F", EVENTS, contacts=CONTACTS,
                                   first_timestamp=1_760_000_000) * COPIES
        random.Random(4).shuffle(deliveries)
        flood = http_bench.post_all(server.port, Target(
            f"{EVENTS:,} events x {COPIES}, shuffled", WEBHOOK_PATH, Bodies(deliveries)),
            clients=FLOOD_CLIENTS)
        server_log = server.log_path.read_text(errors="replace")

    stored_after_flood = WebhookDelivery.objects.count()
    with Worker(tmp_path / "celery.log") as worker:
        processing_seconds = wait_until_processed(worker, EVENTS)
        worker_log = worker.log_path.read_text(errors="replace")
    inbound = Message.objects.for_org(org).filter(direction=Direction.INBOUND).count()
    all_messages = Message.objects.count()
    conversations = Conversation.objects.for_org(org).count()
    stored = WebhookDelivery.objects.count()
    processed = WebhookDelivery.objects.filter(processed_at__isnull=False).count()
    flood_5xx = sum(count for status, count in flood.statuses.items()
                    if isinstance(status, int) and status >= 500)

    def rounds(key):
        return ", ".join(f"{run.rate:.0f}" for run in runs[key])

    print(f"\n\nWhatsApp webhook ingest on PostgreSQL + Redis: gunicorn {' '.join(GUNICORN)}, "
          f"{CLIENTS} keep-alive clients (closed loop), {WARMUP_SECONDS:g} s warm-up + "
          f"{WINDOW_SECONDS:g} s window, {ROUNDS} interleaved rounds (median); "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after\n")
    print(f"| {'figure':<58} | {'value':>22} | {'target':>12} | "
          f"{'cores busy (other) req/s/own core':>33} |")
    print(f"|{'-' * 60}|{'-' * 24}|{'-' * 14}|{'-' * 35}|")
    table = [
        (f"no-op view, req/s (rounds: {rounds('noop')})", f"{noop.rate:.0f}", "", cores(noop)),
        (f"one ORM INSERT view, req/s (rounds: {rounds('insert')})", f"{insert.rate:.0f}", "",
         cores(insert)),
        (f"signed WhatsApp webhook, req/s (rounds: {rounds('webhook')})",
         f"{webhook.rate:.0f}", "", cores(webhook)),
        ("webhook / INSERT, median of the rounds' ratios "
         f"({', '.join(f'{r:.2f}' for r in round_ratios)})", f"{ratio:.2f} x", f">= {MIN_RATIO}",
         ""),
        ("webhook / INSERT, of the median rates", f"{webhook.rate / insert.rate:.2f} x", "",
         ""),
        ("webhook / INSERT, per core the benchmark had",
         f"{per_core(webhook) / per_core(insert):.2f} x", "", ""),
        ("webhook / no-op", f"{webhook.rate / noop.rate:.2f} x", "", ""),
        (f"webhook p50 / p99, closed loop at max ({CLIENTS} clients)",
         f"{webhook.percentile(0.50):.1f} / {webhook.percentile(0.99):.1f} ms", "", ""),
        (f"webhook p50 / p99 at {paced_rate:.0f} req/s (half max), paced",
         f"{paced.percentile(0.50):.1f} / {paced.percentile(0.99):.1f} ms",
         f"p99 <= {MAX_P99_MS:g} ms", cores(paced)),
        (f"INSERT view p50 / p99 at {paced_rate:.0f} req/s, paced (reference)",
         f"{paced_insert.percentile(0.50):.1f} / {paced_insert.percentile(0.99):.1f} ms", "",
         cores(paced_insert)),
        (f"  paced: answered in {PACED_SECONDS:g} s / sent > 1 ms late",
         f"{paced.ok:,} / {paced.late:,}", "", ""),
        (f"flood: {flood.ok + flood.failures:,} POSTs by {FLOOD_CLIENTS} clients, req/s",
         f"{(flood.ok + flood.failures) / flood.seconds:.0f} in {flood.seconds:.1f} s", "", ""),
        ("flood: 200 / 5xx / other", f"{flood.ok:,} / {flood_5xx} / "
         f"{flood.failures - flood_5xx}", "5xx = 0", ""),
        ("deliveries stored by the flood", f"{stored_after_flood:,}", f"{EVENTS:,}", ""),
        ("worker: all deliveries processed in", f"{processing_seconds:.1f} s "
         f"({EVENTS / processing_seconds:.0f}/s)", "", ""),
        ("inbound messages / conversations", f"{inbound:,} / {conversations:,}",
         f"{EVENTS:,} / {CONTACTS}", ""),
        ("deliveries / processed", f"{stored:,} / {processed:,}", f"{EVENTS:,} / {EVENTS:,}",
         ""),
    ]
    for figure, value, target, busy in table:
        print(f"| {figure:<58} | {value:>22} | {target:>12} | {busy:>33} |")
    for run in [*runs["noop"], *runs["insert"], *runs["webhook"], paced, flood]:
        for error in run.errors[:3]:
            print(f"  {run.name}: {error}")
    print()

    for run in [*runs["noop"], *runs["insert"], *runs["webhook"], paced]:
        assert run.failures == 0, (run.name, run.statuses, run.errors[:3])
    assert "Traceback" not in server_log, server_log[-3000:]
    assert "Traceback" not in worker_log, worker_log[-3000:]
    assert flood_5xx == 0 and flood.failures == 0, (flood.statuses, flood.errors[:3])
    assert stored_after_flood == stored == processed == EVENTS
    assert inbound == EVENTS and all_messages == EVENTS, (inbound, all_messages)
    assert conversations == CONTACTS
    assert ratio >= MIN_RATIO, f"webhook / INSERT = {ratio:.2f}, target >= {MIN_RATIO}"
    assert paced.percentile(0.99) <= MAX_P99_MS, (
        f"p99 {paced.percentile(0.99):.1f} ms at {paced_rate:.0f} req/s, "
        f"target <= {MAX_P99_MS:g} ms")
