"""Canned replies: managers keep a tenant's saved answers (in the console); reps insert them by
typing ``/shortcut`` in the reply box."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.canned import PLACEHOLDERS, normalized_shortcut, unknown_placeholders
from agents.models import CannedReply
from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound, ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record

CANNED_REPLY_FIELDS = ("title", "shortcut", "body")


def _checked(reply: CannedReply) -> None:
    reply.title = reply.title.strip()
    reply.shortcut = normalized_shortcut(reply.shortcut)
    reply.body = reply.body.strip()
    try:
        reply.full_clean(exclude=["organization"], validate_unique=False,
                         validate_constraints=False)
    except ValidationError as exc:
        fields = exc.message_dict
        first = next(iter(fields))
        raise ValidationFailed(f"{first}: {fields[first][0]}", fields=fields) from exc
    unknown = unknown_placeholders(reply.body)
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        problem = (f"{{{unknown[0]}}} is not a placeholder; use {known}, or remove the "
                   "braces.")
        raise ValidationFailed(f"body: {problem}", fields={"body": [problem]})


def _saved(org: Organization, reply: CannedReply, *, actor: Actor, action: str,
           fields: list[str]) -> CannedReply:
    try:
        with transaction.atomic():
            reply.save()
            audit_event_record(org=org, actor=actor, action=action, target=reply,
                               data={"fields": fields})
    except IntegrityError as exc:
        problem = f"/{reply.shortcut} is taken already; choose another shortcut."
        raise Conflict(f"shortcut: {problem}", fields={"shortcut": [problem]}) from exc
    return reply


def canned_reply_create(*, org: Organization, title: str, shortcut: str, body: str,
                        actor: Actor) -> CannedReply:
    """Save a canned reply. Raises ``ValidationFailed`` naming the field (a blank title or
    body, a shortcut with other characters than a-z, 0-9, - and _, an unknown placeholder),
    ``Conflict`` when the tenant has the shortcut already."""
    reply = CannedReply(organization=org, title=title or "", shortcut=shortcut or "",
                        body=body or "")
    _checked(reply)
    return _saved(org, reply, actor=actor, action="canned_reply.created",
                  fields=list(CANNED_REPLY_FIELDS))


def canned_reply_update(*, org: Organization, reply: CannedReply, actor: Actor,
                        **changes) -> CannedReply:
    """Change a canned reply's title, shortcut or body. Raises ``NotFound`` across tenants,
    and what ``canned_reply_create`` raises."""
    if reply.organization_id != org.pk:
        raise NotFound("No such canned reply.")
    unknown = set(changes) - set(CANNED_REPLY_FIELDS)
    if unknown:
        raise ValidationFailed(f"{sorted(unknown)[0]}: not a canned reply field.")
    for field, value in changes.items():
        setattr(reply, field, value or "")
    _checked(reply)
    return _saved(org, reply, actor=actor, action="canned_reply.updated",
                  fields=sorted(changes))


def canned_reply_delete(*, org: Organization, reply: CannedReply, actor: Actor) -> None:
    """Remove a canned reply. Raises ``NotFound`` across tenants."""
    if reply.organization_id != org.pk:
        raise NotFound("No such canned reply.")
    with transaction.atomic():
        audit_event_record(org=org, actor=actor, action="canned_reply.deleted", target=reply)
        CannedReply.objects.for_org(org).filter(pk=reply.pk).delete()
