from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="lockout.counters_prune",
        task="lockout.counters_prune",
        description="Delete sign-in and API key failure counts whose lockout time has passed.",
        every=timedelta(hours=1),
    ),
]
