"""Channels and their templates: connecting them, and the per-tenant inbox settings."""

from django.db import IntegrityError, transaction

from agents.models import Channel, ChannelKind, InboxSettings, Template
from agents.templates_text import placeholder_count
from flexoraa.errors import Conflict, ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record


def channel_create(*, org: Organization, kind: str, external_id: str, name: str = "",
                   access_token: str = "", refresh_token: str = "", actor=None) -> Channel:
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
                    language: str = "en_US", param_count: int | None = None,
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
            return Template.objects.create(
                organization=org, channel=channel, name=name.strip(), body=body,
                language=language, param_count=count, for_recovery=for_recovery,
                approved=approved,
            )
    except IntegrityError as exc:
        raise Conflict("This channel already has a template with that name and language.",
                       fields={"name": ["Already exists."]}) from exc


def inbox_settings_for(org: Organization) -> InboxSettings:
    found = InboxSettings.objects.for_org(org).first()
    if found is not None:
        return found
    settings_row, _created = InboxSettings.objects.get_or_create(organization=org)
    return settings_row
