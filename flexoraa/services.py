"""Use cases of the platform core. Each writes in one transaction with its audit event."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from flexoraa import api_keys, audit_chain
from flexoraa.actors import Actor
from flexoraa.capacity import capacity_freed_after_commit
from flexoraa.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from flexoraa.models import (
    MANAGING_ROLES,
    MAX_CAPACITY,
    ApiKey,
    AuditEvent,
    Membership,
    Organization,
    Role,
)

User = get_user_model()

# last_used_at is refreshed at most this often, so a busy integration does not write per call.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def _actor_checked(actor) -> Actor:
    """Services record who acted; anything but an ``Actor`` would be guessed at, and a guess
    is how a person ends up recorded as the system."""
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be an Actor, not {type(actor).__name__}")
    return actor


def _actor_is_owner(org: Organization, actor: Actor) -> bool:
    if _actor_checked(actor).is_system:  # commands and the seed act with an owner's reach
        return True
    if actor.membership is not None and actor.membership.organization_id == org.pk:
        return actor.membership.role == Role.OWNER
    return actor.user_id is not None and Membership.objects.for_org(org).filter(
        user_id=actor.user_id, role=Role.OWNER
    ).exists()


def _console_access_sync(user) -> None:
    """The manager console is open to a person while they manage at least one tenant."""
    should_be_staff = user.is_superuser or Membership.objects.filter(
        user=user, role__in=MANAGING_ROLES
    ).exists()
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])


def audit_event_record(
    *, org: Organization, actor: Actor, action: str, target=None, data: dict | None = None
) -> AuditEvent:
    """Append one event to the tenant's chain. Call inside the use case's transaction.

    ``data`` must hold ids and codes only, never names, phones, emails or message text.
    Raises ``TypeError`` when ``actor`` is not an ``Actor``.
    """
    (event,) = audit_events_record(org=org, actor=actor, events=[(action, target, data)])
    return event


def audit_events_record(
    *, org: Organization, actor: Actor, events: list[tuple[str, object, dict | None]]
) -> list[AuditEvent]:
    """Append several ``(action, target, data)`` events in one go: one lock and one INSERT,
    for jobs that act on many rows of a tenant at once. Raises ``TypeError`` when ``actor``
    is not an ``Actor``."""
    _actor_checked(actor)
    if not events:
        return []
    with transaction.atomic():
        # Lock the tenant row so two appends never take the same previous hash. NO KEY
        # UPDATE leaves other inserts that reference the tenant (FOR KEY SHARE) unblocked.
        list(Organization.objects.select_for_update(no_key=True).filter(pk=org.pk).values("pk"))
        last = AuditEvent.objects.for_org(org).order_by("-id").values_list("hash", flat=True)
        prev_hash = last.first() or audit_chain.GENESIS_HASH
        created_at = timezone.now()
        rows = []
        for action, target, data in events:
            content = {
                "organization_id": org.pk,
                "actor_user_id": actor.user_id,
                "actor_api_key_id": actor.api_key_id,
                "actor_system": actor.system_name,
                "action": action,
                "target_type": target._meta.label_lower if target is not None else "",
                "target_id": str(target.pk) if target is not None else "",
                "data": dict(data or {}),
                "created_at": created_at,
            }
            link = audit_chain.link_hash(prev_hash=prev_hash, **content)
            rows.append(AuditEvent(prev_hash=prev_hash, hash=link, **content))
            prev_hash = link
        if len(rows) == 1:
            rows[0].save(force_insert=True)
        else:
            # The chain is verified in id order, so the batch must get ascending ids in list
            # order, which a single multi-row INSERT gives on PostgreSQL and SQLite.
            rows = AuditEvent.objects.bulk_create(rows)
    return rows


def organization_create(
    *, name: str, slug: str, timezone_name: str = "Asia/Kolkata", country: str = "IN",
    business_hours: dict | None = None, settings: dict | None = None, actor: Actor,
) -> Organization:
    """Create a tenant. Raises ``Conflict`` when the slug is taken."""
    with transaction.atomic():
        if Organization.objects.filter(slug=slug).exists():
            raise Conflict(f"An organization with the slug '{slug}' already exists.",
                           fields={"slug": ["This slug is taken."]})
        org = Organization.objects.create(
            name=name, slug=slug, timezone=timezone_name, country=country.upper(),
            business_hours=business_hours or {}, settings=settings or {},
        )
        audit_event_record(org=org, actor=actor, action="organization.created", target=org)
    return org


ORGANIZATION_CHANGEABLE = frozenset({"name", "slug", "timezone", "country", "business_hours",
                                     "settings"})


def organization_update(*, org: Organization, actor: Actor, **changes) -> Organization:
    """Change a tenant's profile (name, time zone, business hours …); a change to nothing
    writes nothing. The audit event names the changed fields, never their values (a name is
    not an id).

    Raises ``ValidationFailed`` for an unknown field or a value the model refuses, and
    ``Conflict`` when a new slug is taken.
    """
    unknown = set(changes) - ORGANIZATION_CHANGEABLE
    if unknown:
        raise ValidationFailed(f"Cannot change {', '.join(sorted(unknown))}.")
    if "country" in changes and isinstance(changes["country"], str):
        changes["country"] = changes["country"].upper()
    with transaction.atomic():
        locked = Organization.objects.select_for_update(no_key=True).get(pk=org.pk)
        changes = {field: value for field, value in changes.items()
                   if getattr(locked, field) != value}
        if not changes:
            return locked
        for field, value in changes.items():
            setattr(locked, field, value)
        try:
            locked.full_clean(exclude=sorted(ORGANIZATION_CHANGEABLE - set(changes)),
                              validate_unique=False)
        except DjangoValidationError as exc:
            problems = exc.message_dict
            field, messages = next(iter(problems.items()))
            raise ValidationFailed(f"{field}: {messages[0]}", fields=problems) from exc
        if "slug" in changes and Organization.objects.filter(slug=locked.slug).exclude(
            pk=locked.pk
        ).exists():
            raise Conflict(f"An organization with the slug '{locked.slug}' already exists.",
                           fields={"slug": ["This slug is taken."]})
        locked.save(update_fields=sorted(changes))
        audit_event_record(org=locked, actor=actor, action="organization.updated",
                           target=locked, data={"fields": sorted(changes)})
    return locked


def _membership_values_check(*, role: str, capacity: int) -> None:
    problems = {}
    if role not in Role.values:
        problems["role"] = [f"Unknown role '{role}'; choose one of {', '.join(Role.values)}."]
    if not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
        problems["capacity"] = [f"Give a whole number from 0 to {MAX_CAPACITY:,}."]
    if problems:
        field, (message,) = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {message}", fields=problems)


def membership_create(
    *, org: Organization, user, role: str = Role.SDR, capacity: int = 10,
    is_available: bool = True, actor: Actor,
) -> Membership:
    """Add a person to a tenant. Managers and owners get the admin console (``is_staff``).

    Raises ``ValidationFailed`` for an unknown role or a capacity out of range, and
    ``Conflict`` for a second membership of the same person.
    """
    _membership_values_check(role=role, capacity=capacity)
    with transaction.atomic():
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    organization=org, user=user, role=role, capacity=capacity,
                    is_available=is_available,
                )
        except IntegrityError as exc:
            raise Conflict("This person is already a member of the organization.") from exc
        _console_access_sync(user)
        audit_event_record(
            org=org, actor=actor, action="membership.created", target=membership,
            data={"role": role, "capacity": capacity},
        )
        if role == Role.SDR and is_available and capacity > 0:
            capacity_freed_after_commit(org.pk)  # a new SDR is room for waiting work
    return membership


def member_invite(
    *, org: Organization, username: str, email: str, password: str, role: str = Role.SDR,
    capacity: int = 10, is_available: bool = True, actor: Actor,
) -> Membership:
    """Give a new person a login and a membership of ``org`` together: both or neither.

    Raises ``ValidationFailed`` for a password the validators refuse, an unknown role or a
    capacity out of range, and ``Conflict`` when the username is taken.
    """
    _membership_values_check(role=role, capacity=capacity)
    try:
        validate_password(password, user=User(username=username, email=email))
    except DjangoValidationError as exc:
        raise ValidationFailed(f"password: {exc.messages[0]}",
                               fields={"password": exc.messages}) from exc
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict("That username is taken.",
                           fields={"username": ["That username is taken."]})
        user = User.objects.create_user(username=username, email=email, password=password)
        membership = membership_create(org=org, user=user, role=role, capacity=capacity,
                                       is_available=is_available, actor=actor)
    return membership


MEMBERSHIP_CHANGEABLE = frozenset({"role", "capacity", "is_available"})


def membership_update(
    *, org: Organization, membership: Membership, actor: Actor, **changes
) -> Membership:
    """Change role, capacity or availability; a change to nothing writes nothing.

    Raises ``NotFound`` across tenants; ``ValidationFailed`` for an unknown field or role or a
    capacity out of range; ``PermissionDenied`` when anyone but an owner grants or takes away
    the owner role; ``Conflict`` when the change would leave the tenant with no manager.
    """
    unknown = set(changes) - MEMBERSHIP_CHANGEABLE
    if unknown:
        raise ValidationFailed(f"Cannot change {', '.join(sorted(unknown))}.")
    if membership.organization_id != org.pk:
        raise NotFound("No such membership.")
    changes = {field: value for field, value in changes.items()
               if getattr(membership, field) != value}
    if not changes:
        return membership
    new_role = changes.get("role", membership.role)
    _membership_values_check(role=new_role, capacity=changes.get("capacity", membership.capacity))
    if Role.OWNER in (new_role, membership.role) and "role" in changes and not _actor_is_owner(
        org, actor
    ):
        raise PermissionDenied("Only an owner can grant or take away the owner role.")
    with transaction.atomic():
        # Serialise role changes per tenant so two managers cannot demote each other at once.
        list(Organization.objects.select_for_update(no_key=True).filter(pk=org.pk).values("pk"))
        if membership.role in MANAGING_ROLES and new_role not in MANAGING_ROLES:
            others = Membership.objects.for_org(org).filter(role__in=MANAGING_ROLES).exclude(
                pk=membership.pk
            )
            if not others.exists():
                raise Conflict(
                    "This is the organization's last manager; make someone else a manager "
                    "or owner first.", fields={"role": ["The last manager cannot be demoted."]},
                )
        room_may_free = _room_may_free(membership, changes)
        for field, value in changes.items():
            setattr(membership, field, value)
        membership.save(update_fields=list(changes))
        _console_access_sync(membership.user)
        audit_event_record(
            org=org, actor=actor, action="membership.updated", target=membership,
            data=dict(changes),
        )
        if room_may_free:
            capacity_freed_after_commit(org.pk)
    return membership


def _room_may_free(membership: Membership, changes: dict) -> bool:
    """Whether the change (not yet applied) can give the tenant room for waiting work: an
    SDR back from away, more capacity, or someone who becomes an SDR."""
    role = changes.get("role", membership.role)
    if role != Role.SDR:
        return False
    return (changes.get("is_available") is True
            or changes.get("capacity", membership.capacity) > membership.capacity
            or membership.role != Role.SDR)


def api_key_create(*, org: Organization, name: str, actor: Actor, raw_key: str | None = None):
    """Issue a key. Returns ``(api_key, raw_key)``; the raw key is never stored or shown again.

    ``raw_key`` lets the demo seed a known key; it must be well-formed.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the key a name.", fields={"name": ["This field is required."]})
    if len(name) > ApiKey._meta.get_field("name").max_length:
        raise ValidationFailed("The key's name is too long.",
                               fields={"name": ["Use at most 100 characters."]})
    if raw_key is None:
        prefix, raw_key = api_keys.generate_key()
    else:
        prefix = api_keys.split_key(raw_key)
        if prefix is None:
            raise ValidationFailed("The key is not of the form flx_<8 chars>_<secret>.")
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            organization=org,
            name=name,
            prefix=prefix,
            key_hash=api_keys.hash_key(raw_key),
            created_by_id=actor.user_id,
        )
        audit_event_record(org=org, actor=actor, action="api_key.created", target=api_key)
    return api_key, raw_key


def api_key_revoke(*, org: Organization, api_key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first time."""
    if api_key.organization_id != org.pk:
        raise NotFound("No such API key.")
    with transaction.atomic():
        updated = ApiKey.objects.for_org(org).filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_event_record(org=org, actor=actor, action="api_key.revoked", target=api_key)
        api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_reinstate(*, org: Organization, api_key: ApiKey, actor: Actor) -> ApiKey:
    """Make a revoked key work again. Only the demo seed does this, for its well-known key."""
    if api_key.organization_id != org.pk:
        raise NotFound("No such API key.")
    with transaction.atomic():
        updated = ApiKey.objects.for_org(org).filter(pk=api_key.pk).exclude(
            revoked_at=None
        ).update(revoked_at=None)
        if updated:
            audit_event_record(org=org, actor=actor, action="api_key.reinstated", target=api_key)
        api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use of a key, at most once per ``API_KEY_TOUCH_INTERVAL`` (one conditional UPDATE)."""
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < API_KEY_TOUCH_INTERVAL:
        return
    ApiKey.objects.filter(pk=api_key.pk).exclude(
        last_used_at__gte=now - API_KEY_TOUCH_INTERVAL
    ).update(last_used_at=now)
