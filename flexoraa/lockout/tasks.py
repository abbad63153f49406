from celery import shared_task

from flexoraa.jobs import PERIODIC_QUEUE, job_run
from flexoraa.lockout import services


@shared_task(name="lockout.counters_prune", queue=PERIODIC_QUEUE)
def counters_prune():
    return job_run("lockout.counters_prune",
                   lambda: {"deleted": services.sign_in_counters_prune()})
