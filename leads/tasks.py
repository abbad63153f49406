"""Thin Celery tasks: each runs one service under the job lease."""

from celery import shared_task

from flexoraa.jobs import PERIODIC_QUEUE, job_run
from leads import services


@shared_task(name="leads.sla_check", queue=PERIODIC_QUEUE)
def sla_check():
    return job_run("leads.sla_check", services.sla_breaches_record)


@shared_task(name="leads.leakage_scan", queue=PERIODIC_QUEUE)
def leakage_scan():
    return job_run("leads.leakage_scan", services.leaking_leads_move)
