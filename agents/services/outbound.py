"""The one way a message leaves: SDR, AI and system senders on every channel.

``message_send`` checks what may go now (text limits, templates, the lead's opt-out and the
customer-service window) and writes the message in one transaction; the provider call
happens after commit in the ``agents.send_message`` task (``message_deliver``), which claims
the row with a conditional UPDATE so a task run twice sends once. Scheduled messages wait as
``scheduled`` rows until ``scheduled_messages_release`` claims them; ``cold_recovery_run``
nudges leads who went quiet after our last message.
"""

import logging
import random
import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from agents import window
from agents.errors import (
    ChannelDisconnected,
    LeadOptedOut,
    MessageInvalid,
    ProviderRefused,
    ProviderUnavailable,
    WindowClosed,
)
from agents.models import (
    Channel,
    ChannelKind,
    ChannelStatus,
    Conversation,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    SenderKind,
    Template,
)
from agents.services.channels import inbox_settings_for
from agents.templates_text import template_render
from flexoraa.actors import Actor
from flexoraa.errors import Conflict, NotFound
from flexoraa.models import Organization
from flexoraa.storable import unstorable_text_reason
from leads import services as lead_services
from leads.selectors import OPEN_STATUSES, Status

logger = logging.getLogger(__name__)

OUTBOUND_SENDERS = (SenderKind.SDR, SenderKind.AI, SenderKind.SYSTEM)
OUTBOUND_ACTOR = Actor.system("agents:message_send")
SEND_JOB_ACTOR = Actor.system("job:agents.send_message")
# A lead who withdrew consent, or whose data was erased, gets nothing automated.
NO_AUTOMATION = (Status.OPTED_OUT, Status.ANONYMIZED)
# A schedule time this close behind now is the minute a person picked as "now": it sends now.
# An older one is refused, never sent at once as if no time had been asked for.
SCHEDULE_GRACE = timedelta(minutes=1)
RETRY_BASE_SECONDS = 5
# Below the broker's visibility timeout, so a countdown is never redelivered early.
RETRY_CAP_SECONDS = 300


# --- sending ---------------------------------------------------------------------------------

def message_send(*, org: Organization, conversation: Conversation, sender: str,
                 author=None, text: str = "", template: Template | None = None,
                 template_params=(), client_id: str | None = None,
                 scheduled_for: datetime | None = None) -> Message:
    """Queue one outbound message (or schedule it when ``scheduled_for`` is in the future).
    ``author`` is the SDR's Membership. The same ``client_id`` again returns the first
    message. Raises ``NotFound``, ``MessageInvalid``, ``LeadOptedOut``, ``WindowClosed``,
    ``ChannelDisconnected``, and ``Conflict`` when ``client_id`` was used for another
    message."""
    return _send(org=org, conversation=conversation, sender=sender, author=author, text=text,
                 template=template, template_params=template_params, client_id=client_id,
                 scheduled_for=scheduled_for, now=timezone.now())


def _send(*, org, conversation, sender, author, text, template, template_params, client_id,
          scheduled_for, now) -> Message:
    if conversation.organization_id != org.pk:
        raise NotFound("No such conversation.")
    if sender not in OUTBOUND_SENDERS:
        raise MessageInvalid("sender: say sdr, ai or system.",
                             fields={"sender": ["Not an outbound sender."]})
    text = (text or "").strip()
    params = [str(value).strip() for value in template_params]
    _storable_check(text, params)
    if client_id:
        earlier = _earlier_send(org, conversation, client_id, text, template, params)
        if earlier is not None:
            return earlier
    channel = conversation.channel
    kind, body = _content_check(channel, text, template, params)
    if scheduled_for is not None and timezone.is_naive(scheduled_for):
        raise MessageInvalid("scheduled_for: give a time with its zone.",
                             fields={"scheduled_for": ["Needs a time zone."]})
    if scheduled_for is not None and scheduled_for < now - SCHEDULE_GRACE:
        problem = ("That time has passed; choose a time in the future, or leave it empty to "
                   "send now.")
        raise MessageInvalid(f"scheduled_for: {problem}", fields={"scheduled_for": [problem]})
    scheduled = scheduled_for is not None and scheduled_for > now
    if channel.status != ChannelStatus.CONNECTED:
        raise ChannelDisconnected(f"This {channel.get_kind_display()} channel is disconnected; "
                                  "a manager must reconnect it.")
    lead = conversation.lead
    _audience_check(lead.status, sender)
    tag = ""
    if kind == MessageKind.TEXT:
        # The window as it will be when the message goes.
        rule = window.send_rule(channel_kind=channel.kind,
                                last_inbound_at=conversation.last_inbound_at,
                                now=scheduled_for if scheduled else now,
                                human=sender == SenderKind.SDR)
        if not rule.free_text:
            raise WindowClosed(rule.reason, fields={"text": [rule.reason]})
        tag = rule.tag
    message = Message(
        organization=org, conversation=conversation, direction=Direction.OUTBOUND,
        sender=sender, author=author if sender == SenderKind.SDR else None, kind=kind,
        body=body, subject=_subject(conversation) if channel.kind == ChannelKind.GMAIL else "",
        template=template, template_params=params if template is not None else [],
        client_id=client_id or uuid.uuid4().hex,
        status=MessageStatus.SCHEDULED if scheduled else MessageStatus.QUEUED,
        created_at=now, scheduled_for=scheduled_for if scheduled else None, tag=tag,
    )
    try:
        with transaction.atomic():
            message.save(force_insert=True)
            if not scheduled:
                _outbound_record(org, conversation, message, now)
                message_id = message.pk
                transaction.on_commit(lambda: _enqueue(message_id))
    except IntegrityError:
        # Two requests with the same client_id at once: the first one's row answers both.
        earlier = _earlier_send(org, conversation, message.client_id, text, template, params)
        if earlier is None:
            raise
        return earlier
    logger.info("message queued", extra={"message_id": message.pk, "org_id": org.pk,
                                         "conversation_id": conversation.pk,
                                         "sender": sender, "scheduled": scheduled})
    return message


def _enqueue(message_id: int) -> None:
    from agents.tasks import send_message

    send_message.delay(message_id)


def _earlier_send(org, conversation, client_id, text, template, params) -> Message | None:
    earlier = Message.objects.for_org(org).filter(client_id=client_id).first()
    if earlier is None:
        return None
    same = (earlier.conversation_id == conversation.pk
            and earlier.direction == Direction.OUTBOUND
            and (earlier.template_id == (template.pk if template else None))
            and (earlier.template_params == params if template else earlier.body == text))
    if not same:
        raise Conflict("This client_id was already used for a different message.",
                       fields={"client_id": ["Already used."]})
    return earlier


def _storable_check(text: str, params: list[str]) -> None:
    # Before anything queries by the text: PostgreSQL refuses a NUL or a lone surrogate in
    # any text value, so the console's reply box (a form post, with no parser before it)
    # failed with a 500 instead of a reason.
    for name, values in (("text", [text]), ("template_params", params)):
        for value in values:
            reason = unstorable_text_reason(value)
            if reason is not None:
                raise MessageInvalid(f"{name}: {reason}", fields={name: [reason]})


def _content_check(channel, text, template, params) -> tuple[str, str]:
    if template is not None and text:
        raise MessageInvalid("Send either text or a template, not both.",
                             fields={"text": ["Leave empty when sending a template."]})
    if template is None:
        limit = window.TEXT_LIMITS[channel.kind]
        if not text:
            raise MessageInvalid("text: write a message.", fields={"text": ["Required."]})
        if len(text) > limit:
            raise MessageInvalid(
                f"text: {channel.get_kind_display()} carries at most {limit:,} characters.",
                fields={"text": [f"At most {limit} characters."]})
        return MessageKind.TEXT, text
    if channel.kind != ChannelKind.WHATSAPP:
        raise MessageInvalid("template: templates are sent on WhatsApp only.",
                             fields={"template": ["Not a WhatsApp conversation."]})
    if template.channel_id != channel.pk or template.organization_id != channel.organization_id:
        raise MessageInvalid("template: no such template on this channel.",
                             fields={"template": ["Not found on this channel."]})
    if not template.approved:
        raise MessageInvalid("template: this template is not approved.",
                             fields={"template": ["Not approved."]})
    if len(params) != template.param_count or not all(params):
        raise MessageInvalid(
            f"template_params: give exactly {template.param_count} non-empty parameters.",
            fields={"template_params": [f"{template.param_count} parameters required."]})
    return MessageKind.TEMPLATE, template_render(template.body, params)


def _audience_check(lead_status: str, sender: str) -> None:
    if lead_status == Status.ANONYMIZED:
        raise LeadOptedOut("This lead's data was erased; nothing can be sent to it.")
    if lead_status == Status.OPTED_OUT and sender != SenderKind.SDR:
        raise LeadOptedOut("This lead opted out: no automated message may go to it.")


def _subject(conversation) -> str:
    last = (Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
            .exclude(subject="").order_by("-created_at", "-pk").values_list("subject", flat=True)
            .first())
    if not last:
        return ""
    return last if last.lower().startswith("re:") else f"Re: {last}"[:300]


def _outbound_record(org, conversation, message, at) -> None:
    """What a message going out changes outside itself. Our sends never touch the lead's
    last inbound time (the window runs from the lead's words only)."""
    # The lead's row first, then the conversation's: the order every writer of both takes.
    lead = conversation.lead
    lead_services.lead_message_record(org=org, lead=lead, direction="outbound", at=at)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_outbound_at=at, last_message_at=at)
    conversation.last_outbound_at = conversation.last_message_at = at
    if message.sender == SenderKind.SDR:
        # An integration's send has no author (the message records no key): the send path
        # stands for it.
        actor = (Actor.for_member(message.author) if message.author is not None
                 else OUTBOUND_ACTOR)
        lead_services.lead_mark_first_response(org=org, lead=lead, at=at, actor=actor)


# --- delivering ------------------------------------------------------------------------------

def message_deliver(*, message_id: int) -> str:
    """Hand one queued message to its provider; returns its status. Another run finds the
    row claimed and does nothing. Raises ``ProviderUnavailable`` (the row is queued again,
    the task retries)."""
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return Message.objects.filter(pk=message_id).values_list("status", flat=True).first() \
            or "missing"
    message = (Message.objects.select_related("conversation__channel__organization",
                                              "conversation__lead", "template")
               .get(pk=message_id))
    conversation = message.conversation
    now = timezone.now()
    try:
        _deliver_check(message, conversation, now)
        provider_id = _provider_send(message, conversation)
    except ProviderUnavailable:
        Message.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED)
        logger.warning("send postponed", extra={"message_id": message_id,
                                                "attempts": message.attempts})
        raise
    except WindowClosed as exc:
        return _failed(message_id, "window_closed", exc.message,
                       provider_code=exc.extra.get("provider_code", ""))
    except (ProviderRefused, LeadOptedOut, ChannelDisconnected, MessageInvalid) as exc:
        return _failed(message_id, getattr(exc, "provider_code", "") or exc.code, exc.message)
    except Exception:
        # A bug must not leave the row in "sending" for ever, unseen.
        _failed(message_id, "internal_error", "The message could not be sent.")
        raise
    with transaction.atomic():
        updated = Message.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
            status=MessageStatus.SENT, status_rank=1, provider_message_id=provider_id,
            sent_at=now)
        if not updated:  # a status webhook got here first; keep its later status
            Message.objects.filter(pk=message_id).update(provider_message_id=provider_id,
                                                         sent_at=now)
    logger.info("message sent", extra={"message_id": message_id,
                                       "attempts": message.attempts})
    return MessageStatus.SENT


def _deliver_check(message, conversation, now) -> None:
    """What may have changed since the message was queued: the channel, the lead's consent
    and, for free text, the window."""
    if conversation.channel.status != ChannelStatus.CONNECTED:
        raise ChannelDisconnected("The channel was disconnected before the message went.")
    _audience_check(conversation.lead.status, message.sender)
    if message.kind != MessageKind.TEXT:
        return
    rule = window.send_rule(channel_kind=conversation.channel.kind,
                            last_inbound_at=conversation.last_inbound_at, now=now,
                            human=message.sender == SenderKind.SDR)
    if not rule.free_text:
        raise WindowClosed(f"Window closed before the message went. {rule.reason}")
    if rule.tag != message.tag:
        Message.objects.filter(pk=message.pk).update(tag=rule.tag)
        message.tag = rule.tag


def _provider_send(message, conversation) -> str:
    from agents.providers import meta

    channel = conversation.channel
    if channel.kind == ChannelKind.WHATSAPP:
        if message.kind == MessageKind.TEMPLATE:
            return meta.whatsapp_send_template(channel, conversation.contact_id,
                                               message.template, message.template_params,
                                               message.client_id)
        return meta.whatsapp_send_text(channel, conversation.contact_id, message.body,
                                       message.client_id)
    if channel.kind in (ChannelKind.MESSENGER, ChannelKind.INSTAGRAM):
        return meta.page_send_text(channel, conversation.contact_id, message.body,
                                   tag=message.tag)
    from agents.errors import MailboxAuthRevoked
    from agents.providers import gmail
    from agents.services import gmail as mailboxes

    try:
        token = mailboxes.mailbox_token_ensure(channel=channel)
        provider_id, thread_id = gmail.message_send(
            channel=channel, to=conversation.contact_id, subject=message.subject,
            body=message.body, thread_id=conversation.thread_id)
    except MailboxAuthRevoked as exc:
        mailboxes.mailbox_disconnect(org=channel.organization, channel=channel,
                                     reason=exc.message, actor=SEND_JOB_ACTOR)
        raise
    if channel.access_token != token:  # Gmail rejected it mid-send and a new one was fetched
        Channel.objects.filter(pk=channel.pk).update(
            access_token=channel.access_token,
            access_token_expires_at=channel.access_token_expires_at)
    if thread_id and not conversation.thread_id:
        Conversation.objects.filter(pk=conversation.pk, thread_id="").update(
            thread_id=thread_id)
    return provider_id


def _failed(message_id: int, code: str, reason: str, *, provider_code: str = "") -> str:
    Message.objects.filter(
        pk=message_id, status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)
    ).update(status=MessageStatus.FAILED, status_rank=3,
             error_code=(provider_code or code)[:32], error_message=reason[:500])
    logger.warning("send failed", extra={"message_id": message_id, "code": code})
    return MessageStatus.FAILED


def retry_delay(retries: int) -> int:
    """Seconds before the next try: doubling from 5 s, capped at 5 minutes, with full jitter
    in the upper half so many failed sends do not all come back at once."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, retries))
    return max(1, int(random.uniform(ceiling / 2, ceiling)))


def message_give_up(*, message_id: int, reason: str) -> str:
    """The provider stayed unavailable through every retry: the message is failed."""
    return _failed(message_id, "provider_unavailable",
                   f"The provider stayed unavailable; gave up after retrying. {reason}")


# --- scheduled messages ----------------------------------------------------------------------

def scheduled_messages_release(*, now: datetime | None = None) -> dict:
    """Queue every scheduled message that has come due, each exactly once even when two
    runs overlap: each row is claimed by one UPDATE (its pick locked with SKIP LOCKED on
    PostgreSQL), recorded and enqueued in its own transaction, so a run never holds one
    lead's lock while it waits for another's."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            ids = _claim_due(now, 1)
            if not ids:
                break
            message = (Message.objects.select_related("conversation__lead", "author__user",
                                                      "organization").get(pk=ids[0]))
            _outbound_record(message.organization, message.conversation, message, now)
            transaction.on_commit(lambda message_id=message.pk: _enqueue(message_id))
        released += 1
    if released:
        logger.info("scheduled messages released", extra={"count": released})
    return {"released": released}


def _claim_due(now: datetime, chunk: int) -> list[int]:
    table = connection.ops.quote_name(Message._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked \
        else ""
    with connection.cursor() as cursor:
        # The pick is a CTE so it runs once: as a plain "id IN (SELECT … LIMIT n)" subquery,
        # PostgreSQL may run it again per row and claim more than n.
        cursor.execute(
            f"WITH picked AS (SELECT id FROM {table} "  # noqa: S608  (quoted table name)
            f"WHERE status = %s AND scheduled_for <= %s "
            f"ORDER BY scheduled_for, id LIMIT %s{lock}) "
            f"UPDATE {table} SET status = %s "
            f"WHERE status = %s AND id IN (SELECT id FROM picked) RETURNING id",
            [MessageStatus.SCHEDULED, connection.ops.adapt_datetimefield_value(now), chunk,
             MessageStatus.QUEUED, MessageStatus.SCHEDULED],
        )
        return [row[0] for row in cursor.fetchall()]


# --- cold recovery ---------------------------------------------------------------------------

def cold_recovery_run(*, now: datetime | None = None) -> dict:
    """Send one recovery message to each open lead who has been silent for the tenant's
    ``recovery_after_hours`` since our last message, up to ``recovery_max_attempts`` times:
    the recovery text while the window is open, else the channel's recovery template (a
    conversation with neither is counted as skipped). Each conversation is re-checked under
    its lead's lock, and the send and the count commit together, so overlapping runs never
    send twice."""
    now = now or timezone.now()
    totals = {"sent_text": 0, "sent_template": 0, "skipped_no_template": 0, "skipped": 0}
    candidates = _recovery_candidates().filter(last_outbound_at__lte=now - timedelta(hours=1))
    org_ids = sorted(set(candidates.values_list("organization_id", flat=True)))
    for org in Organization.objects.filter(pk__in=org_ids).order_by("pk"):
        inbox = inbox_settings_for(org)
        if not inbox.recovery_enabled or inbox.recovery_max_attempts == 0:
            continue
        cutoff = now - timedelta(hours=inbox.recovery_after_hours)
        due = _recovery_candidates().filter(
            organization=org, last_outbound_at__lte=cutoff,
            recovery_count__lt=inbox.recovery_max_attempts,
        )
        for conversation_id in list(due.order_by("last_outbound_at", "pk")
                                    .values_list("pk", flat=True)):
            # One transaction per conversation, taking the lead's lock first; a run that
            # overlaps this one waits for it, then finds the conversation no longer due.
            with transaction.atomic():
                conversation = (due.filter(pk=conversation_id)
                                .select_related("channel", "lead").first())
                if conversation is None:
                    continue
                lead_services.lead_lock(org=org, lead=conversation.lead)
                conversation = (due.filter(pk=conversation_id).select_related("channel", "lead")
                                .select_for_update(no_key=True, of=("self",)).first())
                if conversation is None:  # another run recovered it meanwhile
                    continue
                totals[_recover(org, inbox, conversation, now)] += 1
    if any(totals.values()):
        logger.info("cold recovery", extra=totals)
    return totals


def _recovery_candidates():
    """Conversations whose last word was ours, with an open lead, on a connected channel."""
    return Conversation.objects.filter(
        Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=F("last_outbound_at")),
        last_outbound_at__isnull=False, lead__status__in=OPEN_STATUSES,
        channel__status=ChannelStatus.CONNECTED,
    )


def _recover(org, inbox, conversation, now) -> str:
    rule = window.send_rule(channel_kind=conversation.channel.kind,
                            last_inbound_at=conversation.last_inbound_at, now=now, human=False)
    text, template, params, outcome = inbox.recovery_text.strip(), None, [], "sent_text"
    if not rule.free_text:
        template = _recovery_template(conversation.channel)
        if template is None or template.param_count > 1:
            return "skipped_no_template"
        first_name = (conversation.lead.name or "").split(maxsplit=1)
        params = [first_name[0] if first_name else "there"][:template.param_count]
        text, outcome = "", "sent_template"
    try:
        with transaction.atomic():
            _send(org=org, conversation=conversation, sender=SenderKind.SYSTEM, author=None,
                  text=text, template=template, template_params=params, client_id=None,
                  scheduled_for=None, now=now)
            Conversation.objects.filter(pk=conversation.pk).update(
                recovery_count=F("recovery_count") + 1, last_recovery_at=now)
    except (WindowClosed, LeadOptedOut, MessageInvalid, ChannelDisconnected) as exc:
        logger.info("recovery skipped", extra={"conversation_id": conversation.pk,
                                               "code": exc.code})
        return "skipped"
    return outcome


def _recovery_template(channel) -> Template | None:
    if channel.kind != ChannelKind.WHATSAPP:
        return None
    return (Template.objects.filter(channel=channel, for_recovery=True, approved=True)
            .order_by("pk").first())
