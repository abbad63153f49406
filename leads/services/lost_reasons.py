"""Each tenant's list of reasons a lead is lost. A tenant starts with a default list, written
the first time it needs one (a lead page, the API's list, the console), and managers edit it
in the console from then on."""

from django.db import transaction

from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound, ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record
from flexoraa.storable import unstorable_text_reason
from leads.models import Lead, LostReason
from leads.services.common import refuse

# What most sales teams record; each tenant renames, retires or adds to them in the console.
DEFAULT_LOST_REASONS = (
    "No budget",
    "Went with a competitor",
    "Not a fit for what we sell",
    "Not the right time",
    "Stopped responding",
    "Not a real lead (spam or duplicate)",
)
SEED_ACTOR = Actor.system("leads:lost_reasons_seed")


def lost_reasons_seed(*, org: Organization) -> int:
    """Give a tenant that has no lost reason at all (none active, none retired) the default
    list; returns how many were written. A tenant with any reason keeps its list as it is, so
    a manager who deleted the defaults never sees them return while they have their own. Two
    first uses at once write the list once (the label is unique per tenant)."""
    if LostReason.objects.for_org(org).exists():
        return 0
    with transaction.atomic():
        created = LostReason.objects.bulk_create(
            [LostReason(organization=org, label=label, position=10 * (number + 1))
             for number, label in enumerate(DEFAULT_LOST_REASONS)],
            ignore_conflicts=True,
        )
        audit_event_record(org=org, actor=SEED_ACTOR, action="lost_reasons.seeded",
                           data={"count": len(created)})
    return len(created)


def lost_reason_choices(*, org: Organization) -> list[LostReason]:
    """The reasons a person may choose now (the active ones, in the tenant's order), writing
    the default list first for a tenant that has none: one query once the list exists."""
    reasons = list(LostReason.objects.for_org(org).filter(is_active=True))
    if not reasons and lost_reasons_seed(org=org):
        reasons = list(LostReason.objects.for_org(org).filter(is_active=True))
    return reasons


NO_SUCH_REASON = "No lost reason of this organization has that id."


def lost_reason_resolve(*, org: Organization, value) -> LostReason:
    """The tenant's active lost reason that ``value`` names (a ``LostReason`` or its id).
    Raises ``ValidationFailed`` naming ``lost_reason`` for a missing value, one that is not
    an id, another tenant's reason and a retired one alike."""
    if value is None or value == "":
        raise ValidationFailed("lost_reason: choose why the lead was lost.",
                               fields={"lost_reason": ["Choose why the lead was lost."]})
    if isinstance(value, LostReason):
        if value.organization_id == org.pk and value.is_active and value.pk is not None:
            return value  # resolved already (a bulk change hands the same reason to each lead)
        value = value.pk
    try:
        reason_id = int(value)
    except (TypeError, ValueError):
        reason_id = None
    found = None
    if reason_id is not None and 0 < reason_id < 2**63:
        found = LostReason.objects.for_org(org).filter(pk=reason_id, is_active=True).first()
    if found is None:
        raise ValidationFailed(f"lost_reason: {NO_SUCH_REASON}",
                               fields={"lost_reason": [NO_SUCH_REASON]})
    return found


LABEL_MAX = LostReason._meta.get_field("label").max_length


def _label_checked(org: Organization, label: str, *, exclude_pk=None) -> str:
    label = " ".join((label or "").split())
    if not label:
        refuse({"label": "Name the reason."})
    if len(label) > LABEL_MAX:
        refuse({"label": f"Keep the reason to {LABEL_MAX} characters."})
    problem = unstorable_text_reason(label)
    if problem is not None:
        refuse({"label": problem})
    taken = LostReason.objects.for_org(org).filter(label__iexact=label).exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(f"label: '{label}' is on the list already.",
                       fields={"label": ["This reason is on the list already."]})
    return label


def lost_reason_create(*, org: Organization, label: str, actor: Actor, position: int = 100,
                       is_active: bool = True) -> LostReason:
    """Add a reason to the tenant's list. Raises ``ValidationFailed`` naming ``label`` (empty,
    too long) and ``Conflict`` when the list has it already."""
    label = _label_checked(org, label)
    with transaction.atomic():
        reason = LostReason.objects.create(organization=org, label=label, position=position,
                                           is_active=is_active)
        audit_event_record(org=org, actor=actor, action="lost_reason.created", target=reason)
    return reason


def lost_reason_update(*, org: Organization, reason: LostReason, actor: Actor,
                       label: str | None = None, position: int | None = None,
                       is_active: bool | None = None) -> LostReason:
    """Rename, reorder, retire or bring back a reason. Leads lost for it keep it; their
    timelines keep the name it had. Raises ``NotFound`` across tenants, ``ValidationFailed``
    and ``Conflict`` as ``lost_reason_create``."""
    if reason.organization_id != org.pk:
        raise NotFound("No such lost reason.")
    changes = {}
    if label is not None:
        changes["label"] = _label_checked(org, label, exclude_pk=reason.pk)
    if position is not None:
        changes["position"] = position
    if is_active is not None:
        changes["is_active"] = is_active
    with transaction.atomic():
        reason = LostReason.objects.for_org(org).select_for_update().get(pk=reason.pk)
        changes = {k: v for k, v in changes.items() if getattr(reason, k) != v}
        if not changes:
            return reason
        for field, value in changes.items():
            setattr(reason, field, value)
        reason.save(update_fields=sorted(changes))
        audit_event_record(org=org, actor=actor, action="lost_reason.updated", target=reason,
                           data={"fields": sorted(changes)})
    return reason


def lost_reason_delete(*, org: Organization, reason: LostReason, actor: Actor) -> None:
    """Take a reason off the list for good. Raises ``NotFound`` across tenants and
    ``Conflict`` while a lead is lost for it (retire it instead: untick active)."""
    if reason.organization_id != org.pk:
        raise NotFound("No such lost reason.")
    with transaction.atomic():
        if Lead.objects.for_org(org).filter(lost_reason=reason).exists():
            raise Conflict(f"Leads were lost for '{reason.label}': retire it instead (untick "
                           "active), so they keep their reason.")
        audit_event_record(org=org, actor=actor, action="lost_reason.deleted", target=reason)
        reason.delete()
