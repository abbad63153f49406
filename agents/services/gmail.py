"""Gmail mailboxes: connecting and reconnecting them, keeping their OAuth tokens fresh, and
polling them every 15 minutes for new emails, which become inbound messages in the sender's
Gmail conversation.

Polling follows Google's sync guide (shared/PROVIDER_CONTRACTS.md §2e): users.history.list
from the stored historyId; a 404 there (history too old) or a first poll means a full sync
of the recent inbox through messages.list, restarting from the profile's historyId. The new
historyId is stored only after the batch is stored, so a crash mid-batch fetches it again and
the message id (unique per conversation and per channel) keeps that from making duplicates.
"""

import logging
import re
from collections import Counter
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.errors import MailboxAuthRevoked, ProviderRefused, ProviderUnavailable
from agents.models import (
    Channel,
    ChannelKind,
    ChannelStatus,
    Conversation,
    Message,
)
from agents.providers import gmail as provider
from agents.services.channels import channel_create
from agents.services.receiving import (
    DuplicateMessage,
    Received,
    inbound_message_store,
    message_read,
)
from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import Organization
from flexoraa.notifications import email_managers
from flexoraa.services import audit_event_record
from leads import services as lead_services

logger = logging.getLogger(__name__)

# A full sync reads the inbox's newest emails from the last month, at most this many.
FULL_SYNC_QUERY = "newer_than:30d"
FULL_SYNC_LIMIT = 200
# Mail that is not a lead writing to us.
IGNORED_LABELS = frozenset({"SENT", "DRAFT", "SPAM", "TRASH", "CHAT"})
REVOKED_REASON = ("Google revoked access (invalid_grant): the password changed, access was "
                  "removed or the authorization expired. Connect the mailbox again.")
# Lines a mail client adds when quoting the email being answered.
QUOTE_START = re.compile(r"^\s*(>|On .+ wrote:\s*$|-{2,}\s*Original Message)", re.IGNORECASE)


# Emails come in through the polling job, which acts for the platform.
GMAIL_POLL_ACTOR = Actor.system("job:agents.gmail_poll")


# --- connecting -----------------------------------------------------------------------------

def mailbox_connect(*, org: Organization, address: str, grant: provider.TokenGrant,
                    actor: Actor) -> tuple[Channel, bool]:
    """Connect a mailbox Google just granted, or reconnect the tenant's existing one;
    ``(channel, created)``. Raises ``Conflict`` when another tenant has this mailbox."""
    address = address.strip().lower()
    if not address:
        raise ValidationFailed("Google did not say which mailbox was granted.")
    existing = Channel.objects.for_org(org).filter(kind=ChannelKind.GMAIL,
                                                   external_id=address).first()
    if existing is not None:
        channel = channel_reconnect(org=org, channel=existing, access_token=grant.access_token,
                                    refresh_token=grant.refresh_token,
                                    expires_at=grant.expires_at, actor=actor)
        return channel, False
    with transaction.atomic():
        channel = channel_create(org=org, kind=ChannelKind.GMAIL, external_id=address,
                                 name=address, access_token=grant.access_token,
                                 refresh_token=grant.refresh_token, actor=actor)
        channel.access_token_expires_at = grant.expires_at
        channel.save(update_fields=["access_token_expires_at"])
    return channel, True


def channel_reconnect(*, org: Organization, channel: Channel, access_token: str,
                      refresh_token: str, expires_at: datetime | None,
                      actor: Actor) -> Channel:
    """Give a tenant's mailbox new OAuth tokens and mark it connected again. The stored
    historyId is kept, so the emails that arrived while it was disconnected are fetched
    (or, when Gmail no longer has that history, a full sync runs). Raises
    ``ValidationFailed`` for another tenant's channel."""
    if channel.organization_id != org.pk or channel.kind != ChannelKind.GMAIL:
        raise ValidationFailed("channel: no such mailbox.", fields={"channel": ["Not found."]})
    with transaction.atomic():
        channel = Channel.objects.for_org(org).select_for_update().get(pk=channel.pk)
        was = channel.status
        channel.status = ChannelStatus.CONNECTED
        channel.status_reason = ""
        channel.access_token = access_token
        channel.refresh_token = refresh_token or channel.refresh_token
        channel.access_token_expires_at = expires_at
        channel.save(update_fields=["status", "status_reason", "access_token", "refresh_token",
                                    "access_token_expires_at"])
        # Which fields changed and from what state, never a token.
        audit_event_record(org=org, actor=actor, action="channel.reconnected", target=channel,
                           data={"kind": channel.kind, "from": was})
    return channel


def mailbox_disconnect(*, org: Organization, channel: Channel, reason: str,
                       actor: Actor) -> bool:
    """Mark a mailbox disconnected and, after commit, tell the tenant's managers. Only the
    call that flips it from connected tells them, so one disconnection is one email; returns
    whether this call did. ``actor`` is the job that found Google's grant revoked."""
    with transaction.atomic():
        channel = Channel.objects.for_org(org).select_for_update().get(pk=channel.pk)
        if channel.status == ChannelStatus.DISCONNECTED:
            return False
        channel.status = ChannelStatus.DISCONNECTED
        channel.status_reason = reason[:300]
        channel.access_token = ""
        channel.access_token_expires_at = None
        channel.save(update_fields=["status", "status_reason", "access_token",
                                    "access_token_expires_at"])
        audit_event_record(org=org, actor=actor, action="channel.disconnected", target=channel,
                           data={"kind": channel.kind, "reason": "invalid_grant"})
        channel_id, label = channel.pk, channel.name or channel.external_id
        transaction.on_commit(lambda: _managers_tell_disconnected(org, channel_id, label))
    logger.warning("gmail mailbox disconnected", extra={"organization_id": org.pk,
                                                         "channel_id": channel_id})
    return True


def _managers_tell_disconnected(org: Organization, channel_id: int, label: str) -> None:
    email_managers(
        org, subject=f"Gmail mailbox {label} is disconnected",
        body=(f"Flexoraa can no longer read or send email from {label} (channel #{channel_id}): "
              "Google revoked our access. This happens when the mailbox's password changes, "
              "access is removed in the Google account, or the authorization expires.\n\n"
              "No new emails are fetched until a manager connects it again: open Channels in "
              "the manager console and choose \"Connect Gmail\" with the same account."),
    )


def mailbox_token_ensure(*, channel: Channel, force: bool = False) -> str:
    """A usable access token for the mailbox, refreshed with the stored refresh token (and
    stored, encrypted) when missing, expiring or ``force``. Raises ``MailboxAuthRevoked``,
    ``ProviderUnavailable``, ``ProviderRefused``."""
    if not force and provider.access_token_usable(channel):
        return channel.access_token
    token, expires_at = provider.access_token_refresh(channel)
    channel.access_token, channel.access_token_expires_at = token, expires_at
    # update() encrypts through the field, as save() does.
    Channel.objects.for_org(channel.organization).filter(pk=channel.pk).update(
        access_token=token, access_token_expires_at=expires_at)
    return token


# --- polling --------------------------------------------------------------------------------

def mailboxes_poll_enqueue() -> dict:
    """Queue one poll per connected Gmail mailbox (the 15-minute job)."""
    from agents import tasks

    channel_ids = list(Channel.objects.filter(kind=ChannelKind.GMAIL,
                                              status=ChannelStatus.CONNECTED)
                       .order_by("pk").values_list("pk", flat=True))
    for channel_id in channel_ids:
        tasks.gmail_poll.delay(channel_id)
    return {"queued": len(channel_ids)}


def mailbox_poll(*, channel_id: int) -> dict:
    """Fetch one mailbox's new emails. A disconnected or removed mailbox is not polled;
    ``invalid_grant`` disconnects it (and tells the managers); a Gmail outage leaves the
    stored historyId where it was, for the next poll."""
    channel = (Channel.objects.select_related("organization")
               .filter(pk=channel_id, kind=ChannelKind.GMAIL).first())
    if channel is None or channel.status != ChannelStatus.CONNECTED:
        return {"channel_id": channel_id, "outcome": "not_polled"}
    try:
        token = mailbox_token_ensure(channel=channel)
        try:
            report = _sync(channel, token)
        except provider.AccessTokenRejected:
            token = mailbox_token_ensure(channel=channel, force=True)
            report = _sync(channel, token)
    except MailboxAuthRevoked:
        mailbox_disconnect(org=channel.organization, channel=channel, reason=REVOKED_REASON,
                           actor=GMAIL_POLL_ACTOR)
        return {"channel_id": channel_id, "outcome": "disconnected"}
    except (ProviderUnavailable, ProviderRefused, provider.AccessTokenRejected) as exc:
        logger.warning("gmail poll failed", extra={"channel_id": channel_id,
                                                    "error": type(exc).__name__})
        return {"channel_id": channel_id, "outcome": "provider_error"}
    logger.info("gmail mailbox polled", extra={"channel_id": channel_id, **report})
    return {"channel_id": channel_id, "outcome": "polled", **report}


def _sync(channel: Channel, token: str) -> dict:
    mode = "history"
    refs: list[provider.MessageRef] = []
    if channel.history_id:
        try:
            result = provider.history_list(access_token=token,
                                           start_history_id=channel.history_id)
            refs, history_id = result.added, result.history_id
        except provider.HistoryGone:
            mode = "full"
    else:
        mode = "full"
    if mode == "full":
        # The profile's historyId is read before listing: mail that lands during the sync is
        # fetched again by the next history poll, and the message id dedupes it.
        history_id = provider.profile_get(access_token=token).history_id
        refs = provider.messages_list(access_token=token, query=FULL_SYNC_QUERY,
                                      label_ids=("INBOX",), limit=FULL_SYNC_LIMIT)
        refs.reverse()  # oldest first, like history
    counts = Counter(_emails_take(channel, token, refs))
    _history_advance(channel, history_id)
    return {"mode": mode, **counts}


def _emails_take(channel: Channel, token: str, refs: list[provider.MessageRef]):
    known = set(Message.objects.for_org(channel.organization).filter(
        conversation__channel=channel, provider_message_id__in=[ref.id for ref in refs],
    ).values_list("provider_message_id", flat=True)) if refs else set()
    for ref in refs:
        if ref.id in known:
            yield "duplicate"
        elif IGNORED_LABELS & set(ref.label_ids):
            yield "ignored"
        else:
            yield _email_take(channel, token, ref.id)


def _email_take(channel: Channel, token: str, message_id: str) -> str:
    try:
        email = provider.message_get(access_token=token, message_id=message_id)
    except ProviderRefused:
        return "gone"  # deleted between the listing and the fetch
    if IGNORED_LABELS & set(email.label_ids) or not email.from_address:
        return "ignored"
    if email.from_address == channel.external_id:
        return "ignored"  # our own mail, sent from another client
    return email_record(channel=channel, email=email)


def _history_advance(channel: Channel, history_id: str) -> None:
    """Store where the next poll starts; never backwards (two polls may overlap)."""
    with transaction.atomic():
        locked = Channel.objects.for_org(channel.organization).select_for_update().get(
            pk=channel.pk)
        fields = ["last_polled_at"]
        locked.last_polled_at = timezone.now()
        if history_id and (not locked.history_id or _as_int(history_id) > _as_int(
                locked.history_id)):
            locked.history_id = history_id
            fields.append("history_id")
        locked.save(update_fields=fields)
    channel.history_id = locked.history_id


def _as_int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- one email ------------------------------------------------------------------------------

def email_record(*, channel: Channel, email: provider.GmailMessage) -> str:
    """Store one inbound email in the sender's Gmail conversation (lead found or created by
    ``lead_intake``); ``"stored"``, ``"opted_out"``, ``"duplicate"`` or ``"invalid"`` (a
    sender address LeadOS refuses)."""
    received = Received(provider_message_id=email.id, at=email.internal_date,
                        body=email.text, subject=email.subject, thread_id=email.thread_id,
                        own_words=_reply_text(email.text))
    # Read first: a lead this email creates is scored, routed and clocked with it.
    reading = message_read(received, channel.organization)
    conversation, counted = _conversation_for(channel, email, reading.for_lead(received.at))
    if conversation is None:
        return "invalid"
    try:
        with transaction.atomic():
            outcome, _message = inbound_message_store(
                channel=channel, conversation=conversation, received=received,
                actor=GMAIL_POLL_ACTOR, reading=reading, lead_counted=counted)
    except DuplicateMessage:
        return "duplicate"
    return outcome


def _conversation_for(
    channel: Channel, email: provider.GmailMessage,
    first_message: lead_services.MessageReading,
) -> tuple[Conversation | None, bool]:
    """The sender's conversation, created with its lead (scored with this first email) the
    first time; True when the lead was created with the email."""
    org = channel.organization
    contact = email.from_address
    found = (Conversation.objects.for_org(org).select_related("lead")
             .filter(channel=channel, contact_id=contact).first())
    if found is not None:
        return found, False
    try:
        result = lead_services.lead_intake(
            org=org, data=lead_services.LeadInput(name=email.from_name[:200], email=contact),
            source="gmail", actor=GMAIL_POLL_ACTOR, first_message=first_message)
    except ValidationFailed:  # InvalidContact included: LeadOS refuses this address
        logger.info("gmail sender refused by intake", extra={"channel_id": channel.pk,
                                                              "gmail_id": email.id})
        return None, False
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                organization=org, channel=channel, lead=result.lead, contact_id=contact,
                contact_name=email.from_name[:200], thread_id=email.thread_id[:64],
            ), result.created
    except IntegrityError:
        # Another poll of the same mailbox created it first (and counted its own email).
        return (Conversation.objects.for_org(org).select_related("lead")
                .get(channel=channel, contact_id=contact)), False


def _reply_text(text: str) -> str:
    """What the lead wrote, without the quoted email below it."""
    lines = []
    for line in text.splitlines():
        if QUOTE_START.match(line):
            break
        lines.append(line)
    return "\n".join(lines).strip()
