"""Changes a manager makes to many leads at once from the team queue. Each lead goes through
the same use case as a change made to it alone, so the rules and side effects are the same."""

from dataclasses import dataclass

from django.db import transaction

from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import Organization
from leads.models import Lead, Status
from leads.services.lifecycle import STATUS_FLOW, allowed_status_changes, lead_update
from leads.services.lost_reasons import lost_reason_resolve

# The statuses a person can move a lead to by hand (opting out and anonymizing have their own
# use cases), in the order of the flow.
BULK_STATUSES = tuple(value for value in Status.values
                      if any(value in targets for targets in STATUS_FLOW.values()))


@dataclass(frozen=True)
class BulkStatusResult:
    changed: int  # moved to the new status
    unchanged: int  # had that status already
    closed: int  # closed (won, lost, opted out, anonymized) and not allowed to move there
    refused: int  # open, but the flow does not allow that move from where they are
    not_found: int  # ids that name no lead of this tenant


def leads_status_change_bulk(
    *, org: Organization, lead_ids: list[int], status: str, actor: Actor, lost_reason=None
) -> BulkStatusResult:
    """A manager moves many leads to ``status`` at once: all of them in one transaction, each
    through ``lead_update`` (its timeline event, audit event and the SLA and leakage watches
    it leaves when it closes). Leads the flow does not let move there are left as they are and
    counted; ids of another tenant count as not found.

    Moving to lost takes one ``lost_reason`` (a reason or its id) for all of them.

    Raises ``ValidationFailed`` for a status nobody can set by hand, and naming
    ``lost_reason`` for lost without one of the tenant's active reasons, or a reason given for
    another status (and then nothing changes).
    """
    if status not in BULK_STATUSES:
        names = ", ".join(Status(value).label.lower() for value in BULK_STATUSES)
        reason = f"Choose one of: {names}."
        raise ValidationFailed(f"status: {reason}", fields={"status": [reason]})
    if status == Status.LOST:
        lost_reason = lost_reason_resolve(org=org, value=lost_reason)
    elif lost_reason not in (None, ""):
        reason = "Only leads moving to lost take a lost reason."
        raise ValidationFailed(f"lost_reason: {reason}", fields={"lost_reason": [reason]})
    else:
        lost_reason = None
    wanted = set(lead_ids)
    changed = unchanged = closed = refused = 0
    with transaction.atomic():
        # Every row first, in id order, as the bulk reassignment takes them: no two bulk
        # changes wait on each other in opposite orders.
        leads = list(
            Lead.objects.for_org(org).select_for_update(of=("self",))
            .filter(pk__in=wanted).order_by("pk")
        )
        for lead in leads:
            if lead.status == status:
                unchanged += 1
            elif status not in allowed_status_changes(lead):
                if lead.is_open:
                    refused += 1
                else:
                    closed += 1
            else:
                lead_update(org=org, lead=lead, actor=actor, status=status,
                            lost_reason=lost_reason)
                changed += 1
    return BulkStatusResult(changed=changed, unchanged=unchanged, closed=closed,
                            refused=refused, not_found=len(wanted) - len(leads))
