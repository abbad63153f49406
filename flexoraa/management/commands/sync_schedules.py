from django.core.management.base import BaseCommand

from flexoraa.jobs import schedules_sync


class Command(BaseCommand):
    help = "Create beat's rows for declared periodic jobs; rows already there are kept as edited."

    def handle(self, *args, **options):
        report = schedules_sync()
        for name in report.created:
            self.stdout.write(f"created  {name}")
        for name in report.kept:
            self.stdout.write(f"kept     {name}")
        for name in report.undeclared:
            self.stdout.write(self.style.WARNING(f"not declared in code: {name}"))
