"""Channels and their templates: connecting them, and the per-tenant inbox settings."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.models import Channel, ChannelKind, InboxSettings, Template
from agents.templates_text import placeholder_count
from flexoraa.actors import Actor
from flexoraa.errors import Conflict, ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record


def channel_create(*, org: Organization, kind: str, external_id: str, name: str = "",
                   actor: Actor, access_token: str = "", refresh_token: str = "") -> Channel:
    """Connect a channel. Raises ``ValidationFailed`` for an unknown kind or a blank id, and
    ``Conflict`` when any tenant has connected the same provider id already."""
    external_id = (external_id or "").strip()
    if kind not in ChannelKind.values:
        raise ValidationFailed(f"kind: choose one of {', '.join(ChannelKind.values)}.",
                               fields={"kind": ["Unknown channel kind."]})
    if not external_id:
        raise ValidationFailed("external_id: give the provider's id for this channel.",
                               fields={"external_id": ["This field is required."]})
    if kind == ChannelKind.GMAIL:
        external_id = external_id.lower()
    try:
        with transaction.atomic():
            channel = Channel.objects.create(
                organization=org, kind=kind, external_id=external_id, name=name.strip(),
                access_token=access_token, refresh_token=refresh_token,
            )
            audit_event_record(org=org, actor=actor, action="channel.connected",
                               target=channel, data={"kind": kind})
    except IntegrityError as exc:
        raise Conflict(
            f"This {ChannelKind(kind).label} id is already connected to a workspace.",
            fields={"external_id": ["Already connected."]},
        ) from exc
    return channel


def template_create(*, org: Organization, channel: Channel, name: str, body: str,
                    actor: Actor, language: str = "en_US", param_count: int | None = None,
                    for_recovery: bool = False, approved: bool = True) -> Template:
    """Record a template the provider approved. The parameter count defaults to the highest
    {{n}} placeholder in ``body``. Raises ``ValidationFailed``."""
    if channel.organization_id != org.pk:
        raise ValidationFailed("channel: no such channel.", fields={"channel": ["Not found."]})
    if not name.strip() or not body.strip():
        raise ValidationFailed("name: a template needs a name and a body.",
                               fields={"name": ["Required."], "body": ["Required."]})
    count = placeholder_count(body) if param_count is None else param_count
    try:
        with transaction.atomic():
            template = Template.objects.create(
                organization=org, channel=channel, name=name.strip(), body=body,
                language=language, param_count=count, for_recovery=for_recovery,
                approved=approved,
            )
            audit_event_record(org=org, actor=actor, action="template.created",
                               target=template, data={"channel_id": channel.pk})
    except IntegrityError as exc:
        raise Conflict("This channel already has a template with that name and language.",
                       fields={"name": ["Already exists."]}) from exc
    return template


def inbox_settings_for(org: Organization) -> InboxSettings:
    found = InboxSettings.objects.for_org(org).first()
    if found is not None:
        return found
    settings_row, _created = InboxSettings.objects.get_or_create(organization=org)
    return settings_row


def channel_update(*, org: Organization, channel: Channel, actor: Actor, name: str | None = None,
                   access_token: str | None = None) -> Channel:
    """Rename a channel or give it a new access token (blank keeps the stored one)."""
    if channel.organization_id != org.pk:
        raise ValidationFailed("channel: no such channel.", fields={"channel": ["Not found."]})
    changed = []
    if name is not None and name.strip() != channel.name:
        channel.name = name.strip()
        changed.append("name")
    if access_token:
        channel.access_token = access_token
        changed.append("access_token")
    if changed:
        with transaction.atomic():
            channel.save(update_fields=changed)
            # The audit log holds which fields changed, never a token.
            audit_event_record(org=org, actor=actor, action="channel.updated", target=channel,
                               data={"fields": changed})
    return channel


TEMPLATE_FIELDS = ("name", "language", "body", "param_count", "approved", "for_recovery")


def template_update(
    *, org: Organization, template: Template, actor: Actor, **changes
) -> Template:
    """Change a template's text or flags; the parameter count follows the body's highest
    placeholder unless given. Raises ``ValidationFailed`` / ``Conflict``."""
    if template.organization_id != org.pk:
        raise ValidationFailed("template: no such template.",
                               fields={"template": ["Not found."]})
    unknown = set(changes) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ValidationFailed(f"{sorted(unknown)[0]}: not a template field.")
    for field, value in changes.items():
        setattr(template, field, value)
    if "body" in changes and "param_count" not in changes:
        template.param_count = placeholder_count(template.body)
    if not template.name.strip() or not template.body.strip():
        raise ValidationFailed("name: a template needs a name and a body.",
                               fields={"name": ["Required."], "body": ["Required."]})
    try:
        with transaction.atomic():
            template.save()
            audit_event_record(org=org, actor=actor, action="template.updated",
                               target=template, data={"fields": sorted(changes)})
    except IntegrityError as exc:
        raise Conflict("This channel already has a template with that name and language.",
                       fields={"name": ["Already exists."]}) from exc
    return template


INBOX_SETTINGS_FIELDS = ("recovery_enabled", "recovery_max_attempts", "recovery_after_hours",
                         "recovery_text")


def inbox_settings_update(*, org: Organization, actor: Actor, **changes) -> InboxSettings:
    """Change the tenant's inbox settings. Raises ``ValidationFailed`` naming the field."""
    unknown = set(changes) - set(INBOX_SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(f"{sorted(unknown)[0]}: not an inbox setting.")
    with transaction.atomic():
        row = inbox_settings_for(org)
        row = InboxSettings.objects.select_for_update().get(pk=row.pk)
        for field, value in changes.items():
            setattr(row, field, value)
        try:
            row.full_clean(exclude=["organization"])
        except ValidationError as exc:
            fields = exc.message_dict
            first = next(iter(fields))
            raise ValidationFailed(f"{first}: {fields[first][0]}", fields=fields) from exc
        row.save()
        audit_event_record(org=org, actor=actor, action="inbox_settings.updated", target=row,
                           data={"fields": sorted(changes)})
    return row
