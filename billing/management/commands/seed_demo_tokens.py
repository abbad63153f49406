"""Give the demo tenant a starting grant of tokens, once (`make run` runs it after seed_demo):
its AI agent can work before anyone buys a package."""

from django.core.management.base import BaseCommand, CommandError

from billing import services
from billing.models import LedgerReason
from flexoraa.actors import Actor
from flexoraa.management.commands.seed_demo import DEMO_SLUG
from flexoraa.models import Organization

DEMO_GRANT = 5_000
DEMO_GRANT_KEY = "demo-grant"


class Command(BaseCommand):
    help = "Credit the demo tenant a starting grant of tokens once (run seed_demo first)."

    def handle(self, *args, **options):
        org = Organization.objects.filter(slug=DEMO_SLUG).first()
        if org is None:
            raise CommandError("There is no demo tenant; run `manage.py seed_demo` first.")
        result = services.wallet_credit(
            org=org, amount=DEMO_GRANT, reason=LedgerReason.ADJUSTMENT,
            idempotency_key=DEMO_GRANT_KEY, reference="demo starting grant",
            actor=Actor.system("command:seed_demo_tokens"),
        )
        if result.replayed:
            self.stdout.write("The demo tenant had its starting grant already; nothing changed.")
        else:
            self.stdout.write(f"Granted the demo tenant {DEMO_GRANT:,} tokens; the balance is "
                              f"{result.balance:,}.")
