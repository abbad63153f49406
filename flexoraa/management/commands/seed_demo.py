import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from flexoraa import api_keys, services
from flexoraa.actors import Actor
from flexoraa.models import ApiKey, Membership, Organization, Role

User = get_user_model()

DEMO_SLUG = "demo"
DEMO_PASSWORD = "flexoraa-demo"  # noqa: S105  (a demo login printed for newcomers)
DEMO_PEOPLE = [
    ("manager", "Maya", "Manager", Role.MANAGER, 50),
    ("sdr1", "Sana", "Rao", Role.SDR, 5),
    ("sdr2", "Dev", "Iyer", Role.SDR, 10),
    ("sdr3", "Priya", "Nair", Role.SDR, 15),
]
# The channel ids the demo tenant answers to; the sandbox and simulator post with them.
DEMO_CHANNELS = {
    "whatsapp": {"phone_number_id": "100000000000001"},
    "instagram": {"account_id": "17840000000000001"},
    "messenger": {"page_id": "100000000000002"},
}


SEED_ACTOR = Actor.system("command:seed_demo")


class Command(BaseCommand):
    help = "Create (or leave as it is) the demo tenant with a manager, three SDRs and an API key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json",
            help="Print logins, key and ids as one JSON object.",
        )

    def handle(self, *args, as_json: bool = False, **options):
        raw_key = settings.DEMO_API_KEY
        if not raw_key or api_keys.split_key(raw_key) is None:
            raise CommandError("DEMO_API_KEY must be set to a key of the form flx_<8>_<secret>.")
        with transaction.atomic():
            org = Organization.objects.filter(slug=DEMO_SLUG).first()
            if org is None:
                org = services.organization_create(
                    name="Demo Sales Co", slug=DEMO_SLUG, timezone_name="Asia/Kolkata",
                    actor=SEED_ACTOR,
                )
            if org.settings.get("demo_channels") != DEMO_CHANNELS:
                org = services.organization_update(
                    org=org, actor=SEED_ACTOR,
                    settings={**org.settings, "demo_channels": DEMO_CHANNELS},
                )
            people = []
            for username, first, last, role, capacity in DEMO_PEOPLE:
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = User.objects.create_user(
                        username=username, password=DEMO_PASSWORD, first_name=first,
                        last_name=last, email=f"{username}@demo.flexoraa.test",
                    )
                membership = Membership.objects.for_org(org).filter(user=user).first()
                if membership is None:
                    membership = services.membership_create(
                        org=org, user=user, role=role, capacity=capacity, actor=SEED_ACTOR
                    )
                people.append({"username": username, "password": DEMO_PASSWORD,
                               "role": membership.role, "capacity": membership.capacity,
                               "membership_id": membership.pk})
            api_key = ApiKey.objects.filter(prefix=api_keys.split_key(raw_key)).first()
            if api_key is None:
                api_key, _ = services.api_key_create(
                    org=org, name="Demo integration", raw_key=raw_key, actor=SEED_ACTOR
                )
            elif not api_key.is_active:
                # The demo's documented key must work; someone revoked it while exploring.
                services.api_key_reinstate(org=org, api_key=api_key, actor=SEED_ACTOR)
                self.stderr.write("The demo API key had been revoked; it works again.")
        report = {
            "organization": {"id": org.pk, "slug": org.slug, "name": org.name},
            "url": "http://127.0.0.1:8000/",
            "manager": people[0],
            "sdrs": people[1:],
            "api_key": {"id": api_key.pk, "key": raw_key, "prefix": api_key.prefix},
            "channels": DEMO_CHANNELS,
        }
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(f"Demo tenant '{org.name}' is ready.")
        for person in people:
            self.stdout.write(f"  {person['role']:<8} {person['username']} / {person['password']}")
        self.stdout.write(f"  API key  {raw_key}")
