"""Post correctly signed inbound messages to the running app, as Meta would, so a newcomer
sees the inbox fill: WhatsApp, Instagram and Messenger in turn, some events delivered twice
(Meta delivers at least once), with a progress bar.

    python manage.py simulate_leads --count 50 [--url http://127.0.0.1:8000] [--org demo]

Without --url it posts to the stack that `make run` (run_stack) started on this machine,
whatever its port, else to SITE_URL.
"""

import csv
import json
import random
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agents import meta_payloads
from agents.models import Channel, ChannelKind
from flexoraa import stack
from flexoraa.models import Organization
from flexoraa.progress import ProgressBar

MESSAGES_FILE = Path(__file__).resolve().parents[2] / "nlu" / "eval" / "unseen.csv"
FIRST_NAMES = ["Aarav", "Diya", "Kabir", "Ishita", "Rohan", "Meera", "Arjun", "Sara", "Vivaan",
               "Ananya", "Neha", "Farhan", "Tara", "Nikhil", "Pooja", "Zoya"]
LAST_NAMES = ["Mehta", "Kapoor", "Singh", "Sharma", "Gupta", "Iyer", "Nair", "Khan", "Joshi",
              "Reddy", "Bose", "Das"]
ENDPOINTS = {ChannelKind.WHATSAPP: "/webhooks/whatsapp/",
             ChannelKind.INSTAGRAM: "/webhooks/instagram/",
             ChannelKind.MESSENGER: "/webhooks/messenger/"}


def sample_messages() -> list[str]:
    with MESSAGES_FILE.open(encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row.get("text")]


def event_body(kind: str, channel_id: str, index: int, text: str, rng: random.Random,
               now: float) -> bytes:
    """One inbound message from simulated person ``index`` on the channel, as Meta sends it."""
    name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {rng.choice(LAST_NAMES)}"
    token = f"{int(now * 1000)}{index:06d}"
    if kind == ChannelKind.WHATSAPP:
        payload = meta_payloads.whatsapp_message_payload(
            phone_number_id=channel_id, wa_id=f"9198{rng.randrange(10**8):08d}", text=text,
            message_id=f"wamid.SIM{token}", timestamp=int(now), name=name,
        )
    elif kind == ChannelKind.INSTAGRAM:
        payload = meta_payloads.instagram_message_payload(
            account_id=channel_id, igsid=f"17841{rng.randrange(10**10):010d}", text=text,
            mid=f"aWdfZAG1SIM{token}", timestamp_ms=int(now * 1000),
        )
    else:
        payload = meta_payloads.messenger_message_payload(
            page_id=channel_id, psid=f"24{rng.randrange(10**14):014d}", text=text,
            mid=f"m_SIM{token}", timestamp_ms=int(now * 1000),
        )
    return json.dumps(payload).encode()


class Command(BaseCommand):
    help = "Post signed inbound WhatsApp, Instagram and Messenger messages to the running app."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=30,
                            help="How many distinct messages to send (default 30).")
        parser.add_argument("--url", default=None,
                            help="The running app (default: the address of the stack "
                                 "running on this machine, else SITE_URL).")
        parser.add_argument("--org", default="demo", help="Whose channels (default: demo).")
        parser.add_argument("--duplicates", type=float, default=0.1,
                            help="Share of events delivered twice (default 0.1).")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, count, url, org, duplicates, seed, **options):
        url = url or stack.running_stack_url() or settings.SITE_URL
        self.url = url
        if not 1 <= count <= 100_000:
            raise CommandError("--count must be from 1 to 100000.")
        if not 0 <= duplicates <= 1:
            raise CommandError("--duplicates must be a share from 0 to 1.")
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organization with the slug '{org}'; run seed_demo and "
                               "seed_demo_channels first.")
        channels = list(Channel.objects.for_org(tenant).filter(kind__in=list(ENDPOINTS))
                        .order_by("kind").values_list("kind", "external_id"))
        if not channels:
            raise CommandError(f"'{tenant.name}' has no WhatsApp, Instagram or Messenger "
                               "channel; run seed_demo_channels first.")
        rng = random.Random(seed)
        texts = sample_messages()
        session = requests.Session()
        outcome = {"sent": 0, "duplicates": 0, "failed": 0}
        # The bar goes to the real stderr: Django's wrapper would end every redraw with a
        # newline. call_command(stderr=...) hands its own stream in the options.
        with ProgressBar(count, options.get("stderr") or sys.stderr,
                         "Posting inbound messages") as bar:
            for index in range(count):
                kind, channel_id = channels[index % len(channels)]
                body = event_body(kind, channel_id, index, rng.choice(texts), rng, time.time())
                copies = 2 if rng.random() < duplicates else 1
                for copy in range(copies):
                    ok = self._post(session, url.rstrip("/") + ENDPOINTS[kind], body)
                    outcome["sent" if copy == 0 else "duplicates"] += ok
                    outcome["failed"] += not ok
                bar.advance()
        self.stdout.write(
            f"Posted {outcome['sent']} messages and {outcome['duplicates']} duplicate "
            f"deliveries to {url}; {outcome['failed']} failed. Open {url.rstrip('/')}/inbox/."
        )
        if outcome["failed"]:
            raise CommandError(f"{outcome['failed']} deliveries failed; see the answers above.")

    def _post(self, session: requests.Session, url: str, body: bytes) -> bool:
        signature = meta_payloads.meta_signature(body, settings.META_APP_SECRET)
        try:
            response = session.post(url, data=body, timeout=settings.PROVIDER_TIMEOUT_SECONDS,
                                    headers={"Content-Type": "application/json",
                                             "X-Hub-Signature-256": signature})
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach {url}: {exc}. Is `make run` running?") from exc
        if response.status_code in (401, 403):
            # Every later delivery would be refused the same way.
            raise CommandError(
                f"{url} answered {response.status_code}: {response.text[:200]}. The app "
                f"refuses the signature: run the simulator with the app's META_APP_SECRET.")
        if response.status_code != 200:
            self.stderr.write(f"{url} answered {response.status_code}: {response.text[:200]}")
        return response.status_code == 200
