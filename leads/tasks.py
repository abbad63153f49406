"""Thin Celery tasks: the periodic jobs run one service under the job lease; the notices
run one service each."""

from smtplib import SMTPException

from celery import shared_task

from flexoraa.actors import Actor
from flexoraa.jobs import PERIODIC_QUEUE, job_run
from flexoraa.models import Organization
from leads import services
from leads.services import sla_warning as sla_warnings


@shared_task(name="leads.sla_check", queue=PERIODIC_QUEUE)
def sla_check():
    return job_run("leads.sla_check", lambda: services.sla_breaches_record(
        actor=Actor.system("job:leads.sla_check")))


@shared_task(name="leads.sla_warning", queue=PERIODIC_QUEUE)
def sla_warning():
    return job_run("leads.sla_warning", sla_warnings.sla_warnings_send)


@shared_task(name="leads.follow_ups_due", queue=PERIODIC_QUEUE)
def follow_ups_due():
    return job_run("leads.follow_ups_due", services.follow_ups_due_notify)


@shared_task(name="leads.leakage_scan", queue=PERIODIC_QUEUE)
def leakage_scan():
    return job_run("leads.leakage_scan", lambda: services.leaking_leads_move(
        actor=Actor.system("job:leads.leakage_scan")))


@shared_task(name="leads.unassigned_queue_sweep", queue=PERIODIC_QUEUE)
def unassigned_queue_sweep():
    return job_run("leads.unassigned_queue_sweep", lambda: services.unassigned_queues_drain(
        actor=Actor.system("job:leads.unassigned_queue_sweep")))


@shared_task(name="flexoraa.leads.unassigned_queue_drain")
def unassigned_queue_drain(org_id: int):
    """One tenant's drain, queued after a commit that may have freed room. Safe to run many
    at once (the service serialises them); a tenant gone since is nothing to do."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return {"assigned": 0}
    return services.unassigned_queue_drain(org=org, actor=Actor.system(
        "job:leads.unassigned_queue_drain"))


@shared_task(name="leads.tell_managers", autoretry_for=(SMTPException, OSError),
             retry_backoff=True, max_retries=5)
def tell_managers(org_id: int, kind: str, count: int):
    return services.managers_tell(org_id=org_id, kind=kind, count=count)
