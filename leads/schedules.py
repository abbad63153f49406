from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="leads.sla_check",
        task="leads.sla_check",
        description="Record each lead that passed its first-response target unanswered, once, "
                    "and email each tenant's managers.",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="leads.leakage_scan",
        task="leads.leakage_scan",
        description="Move leads whose owner has not acted past the leakage threshold to the next "
                    "free SDR; after the maximum moves, to a manager.",
        every=timedelta(minutes=5),
    ),
]
