"""Connect the demo tenant's channels (the ids seed_demo reports), with a follow-up and a
recovery template on WhatsApp, so simulate_leads and the provider sandbox have somewhere to
land. Running it again changes nothing."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.models import Channel, ChannelKind, Template
from agents.services import channels as services
from flexoraa.actors import Actor
from flexoraa.models import Organization

# The sandbox takes any bearer token; production channels get theirs from Meta.
DEMO_ACCESS_TOKEN = "sandbox-demo-access-token"  # noqa: S105
ID_KEYS = {ChannelKind.WHATSAPP: "phone_number_id", ChannelKind.INSTAGRAM: "account_id",
           ChannelKind.MESSENGER: "page_id"}
DEMO_TEMPLATES = [
    # name, body, for_recovery
    ("follow_up", "Hi {{1}}, thanks for your interest in Flexoraa. Shall we pick up where we "
                  "left off?", False),
    ("recovery_check_in", "Hi {{1}}, we haven't heard back from you. Reply here whenever "
                          "you're ready and we'll help right away.", True),
]


SEED_ACTOR = Actor.system("command:seed_demo_channels")


class Command(BaseCommand):
    help = "Connect the demo tenant's WhatsApp, Instagram and Messenger channels (run seed_demo "\
           "first); leaves existing ones as they are."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo", help="The tenant's slug (default: demo).")

    def handle(self, *args, org: str, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organization with the slug '{org}'; run seed_demo first.")
        ids = tenant.settings.get("demo_channels") or {}
        created = []
        with transaction.atomic():
            for kind, key in ID_KEYS.items():
                external_id = (ids.get(kind) or {}).get(key)
                if not external_id or Channel.objects.filter(
                        kind=kind, external_id=external_id).exists():
                    continue
                services.channel_create(org=tenant, kind=kind, external_id=external_id,
                                        name=f"Demo {ChannelKind(kind).label}",
                                        access_token=DEMO_ACCESS_TOKEN, actor=SEED_ACTOR)
                created.append(kind)
            whatsapp = Channel.objects.for_org(tenant).filter(kind=ChannelKind.WHATSAPP).first()
            if whatsapp is not None:
                for name, body, for_recovery in DEMO_TEMPLATES:
                    if not Template.objects.for_org(tenant).filter(channel=whatsapp,
                                                                   name=name).exists():
                        services.template_create(org=tenant, channel=whatsapp, name=name,
                                                 body=body, for_recovery=for_recovery,
                                                 actor=SEED_ACTOR)
        if created:
            self.stdout.write(f"Connected {', '.join(created)} for '{tenant.name}'.")
        else:
            self.stdout.write(f"'{tenant.name}' channels already connected; left as they are.")
