"""Thin Celery tasks: load ids, call one service."""

from celery import shared_task

from experiments import services
from flexoraa.jobs import PERIODIC_QUEUE, job_run


@shared_task(name="experiments.kill_switches_check", queue=PERIODIC_QUEUE)
def kill_switches_check():
    return job_run("experiments.kill_switches_check", services.kill_switches_check)
