"""A tenant's LeadOS configuration: scoring, SLA and leakage settings, and the routing pools."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound, ValidationFailed
from flexoraa.models import Membership, Organization, Role
from flexoraa.services import audit_event_record
from leads.models import LeadSettings, RoutingPoolMember, Tier
from leads.services.common import settings_locked
from leads.services.queue import queue_drain_after_commit

SETTINGS_FIELDS = frozenset(
    field.name for field in LeadSettings._meta.concrete_fields
    if field.editable and field.name not in {"id", "organization"}
)


def lead_settings_update(*, org: Organization, actor: Actor, **changes) -> LeadSettings:
    """Change the tenant's settings; each value is checked by the model's validators.

    Raises ``ValidationFailed`` naming each bad field (WARM must stay below HOT).
    """
    unknown = set(changes) - SETTINGS_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown setting(s): {', '.join(sorted(unknown))}.",
                               fields={name: ["Unknown setting."] for name in sorted(unknown)})
    with transaction.atomic():
        lead_settings = settings_locked(org)
        changed = {k: v for k, v in changes.items() if getattr(lead_settings, k) != v}
        for field, value in changed.items():
            setattr(lead_settings, field, value)
        try:
            lead_settings.full_clean(exclude=["organization"])
        except ValidationError as exc:
            problems = {name: list(messages) for name, messages in exc.message_dict.items()}
            field, messages = next(iter(problems.items()))
            label = "settings" if field == "__all__" else field
            raise ValidationFailed(f"{label}: {messages[0]}", fields=problems) from exc
        if lead_settings.warm_threshold >= lead_settings.hot_threshold:
            raise ValidationFailed(
                "warm_threshold: WARM must start below HOT.",
                fields={"warm_threshold": ["WARM must start below HOT."]},
            )
        if not changed:
            return lead_settings
        lead_settings.save(update_fields=sorted(changed))
        audit_event_record(org=org, actor=actor, action="lead_settings.updated",
                           target=lead_settings, data={"fields": sorted(changed)})
    return lead_settings


def _tier_check(tier: str) -> None:
    if tier not in Tier.values:
        raise ValidationFailed(
            f"tier: Unknown tier '{tier}'; choose one of {', '.join(Tier.values)}.",
            fields={"tier": [f"Choose one of {', '.join(Tier.values)}."]},
        )


def routing_pool_member_add(
    *, org: Organization, tier: str, membership: Membership, actor: Actor
) -> RoutingPoolMember:
    """Put an SDR in a tier's pool. Raises ``ValidationFailed`` for an unknown tier or a
    member who is not an SDR, ``NotFound`` across tenants, ``Conflict`` when already in it."""
    _tier_check(tier)
    if membership.organization_id != org.pk:
        raise NotFound("No such member.")
    if membership.role != Role.SDR:
        raise ValidationFailed("membership: Only SDRs join routing pools.",
                               fields={"membership": ["Only SDRs join routing pools."]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                member = RoutingPoolMember.objects.create(
                    organization=org, tier=tier, membership=membership
                )
        except IntegrityError as exc:
            raise Conflict("This SDR is already in that pool.") from exc
        audit_event_record(org=org, actor=actor, action="routing_pool.joined",
                           target=member, data={"tier": tier, "membership": membership.pk})
        queue_drain_after_commit(org.pk)  # the pool may have room for its queued leads now
    return member


def routing_pool_member_remove(
    *, org: Organization, member: RoutingPoolMember, actor: Actor
) -> None:
    if member.organization_id != org.pk:
        raise NotFound("No such pool member.")
    with transaction.atomic():
        audit_event_record(org=org, actor=actor, action="routing_pool.left",
                           target=member,
                           data={"tier": member.tier, "membership": member.membership_id})
        member.delete()
        # A pool left empty routes to every SDR: its queued leads may have somewhere to go.
        queue_drain_after_commit(org.pk)
