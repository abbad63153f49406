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
    PeriodicJob(
        name="billing.razorpay_events_redrive",
        task="billing.razorpay_events_redrive",
        description="Queue again the Razorpay webhooks still unprocessed two minutes after they "
                    "arrived (lost on the way to the broker, or failed); logs an error for "
                    "those that keep failing.",
        every=timedelta(minutes=5),
    ),
]
