import logging

from celery import shared_task

from flexoraa import selectors
from flexoraa.jobs import PERIODIC_QUEUE, job_run

logger = logging.getLogger(__name__)


def _check_audit_chains() -> dict:
    breaks = selectors.audit_chain_breaks()
    for slug, found in breaks.items():
        logger.error(
            "audit chain broken", extra={"organization": slug, "event_id": found.event_id}
        )
    return {"broken": {slug: found.event_id for slug, found in breaks.items()}}


@shared_task(name="flexoraa.audit_chain_check", queue=PERIODIC_QUEUE)
def audit_chain_check():
    return job_run("flexoraa.audit_chain_check", _check_audit_chains)
