from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="flexoraa.audit_chain_check",
        task="flexoraa.audit_chain_check",
        description="Verify every tenant's audit hash chain; logs an error naming a broken row.",
        every=timedelta(hours=1),
    ),
    PeriodicJob(
        name="flexoraa.webhook_deliveries_redrive",
        task="flexoraa.webhook_deliveries_redrive",
        description="Queue again the provider webhook deliveries still pending 30 seconds "
                    "after they arrived whose wait after a failure is over (lost on the way "
                    "to the broker, or failed for a passing reason); logs an error while some "
                    "have failed for good and wait for a person.",
        every=timedelta(minutes=1),
    ),
]
