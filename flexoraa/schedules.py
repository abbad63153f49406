from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="flexoraa.audit_chain_check",
        task="flexoraa.audit_chain_check",
        description="Verify every tenant's audit hash chain; logs an error naming a broken row.",
        every=timedelta(hours=1),
    ),
]
