"""Periodic jobs of this app, synced into django-celery-beat by name."""

from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="experiments.kill_switches_check",
        task="experiments.kill_switches_check",
        description="Complete the running experiments past their duration; judge each live "
                    "variant against control on errors, response time, hallucinations and "
                    "objections, and roll back (and email the managers about) each one that "
                    "trips.",
        every=timedelta(minutes=5),
    ),
]
