from django.core.management.base import BaseCommand, CommandError

from flexoraa import selectors
from flexoraa.models import Organization


class Command(BaseCommand):
    help = "Verify each tenant's audit hash chain; exit non-zero naming the first broken row."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organization's slug.")

    def handle(self, *args, org=None, **options):
        organizations = Organization.objects.order_by("pk")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"No organization with the slug '{org}'.")
        broken = 0
        for organization in organizations.iterator():
            found = selectors.audit_chain_first_break(organization)
            if found is None:
                self.stdout.write(f"{organization.slug}: ok")
            else:
                broken += 1
                self.stderr.write(
                    f"{organization.slug}: BROKEN at audit event #{found.event_id}: {found.reason}"
                )
        if broken:
            raise CommandError(f"{broken} audit chain(s) broken.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Every audit chain verifies."))
