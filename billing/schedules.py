from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="billing.low_balance_alerts",
        task="billing.low_balance_alerts",
        description="Email owners and managers once when their token balance drops below the "
                    "alert level; re-arms when it recovers.",
        every=timedelta(hours=1),
    ),
]
