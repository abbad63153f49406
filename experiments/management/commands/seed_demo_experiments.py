"""Give the demo tenant the preset "Psychology tactics" experiment, running, once (`make run`
runs it after seed_demo): the agent has variants to ask for from the first lead on."""

from django.core.management.base import BaseCommand, CommandError

from experiments import services
from experiments.models import Experiment
from flexoraa.actors import Actor
from flexoraa.management.commands.seed_demo import DEMO_SLUG
from flexoraa.models import Organization

PRESET = "psychology-tactics"


class Command(BaseCommand):
    help = ('Create and start the demo tenant\'s "Psychology tactics" experiment once (run '
            "seed_demo first).")

    def handle(self, *args, **options):
        org = Organization.objects.filter(slug=DEMO_SLUG).first()
        if org is None:
            raise CommandError("There is no demo tenant; run `manage.py seed_demo` first.")
        existing = Experiment.objects.for_org(org).filter(key=PRESET).first()
        if existing is not None:
            self.stdout.write(f'The demo tenant has the "{existing.name}" experiment already '
                              f"({existing.get_status_display().lower()}); nothing changed.")
            return
        experiment = services.experiment_preset_create(
            org=org, preset=PRESET, start=True,
            actor=Actor.system("command:seed_demo_experiments"),
        )
        self.stdout.write(f'Started the "{experiment.name}" experiment for the demo tenant: '
                          + ", ".join(f"{v.name} {v.weight} %"
                                      for v in experiment.variants.order_by("id")) + ".")
