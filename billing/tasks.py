"""Thin Celery tasks of the token economy."""

from celery import shared_task

from billing import services
from flexoraa.jobs import PERIODIC_QUEUE, job_run


@shared_task(name="billing.low_balance_alerts", queue=PERIODIC_QUEUE)
def low_balance_alerts():
    return job_run("billing.low_balance_alerts", services.low_balance_alerts_send)
