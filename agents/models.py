"""Tables and their invariants (constraints, indexes); no business workflows.

Channels are a tenant's WhatsApp numbers, Instagram accounts, Messenger pages and Gmail
mailboxes; a conversation is one lead on one channel; messages flow both ways through it.
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from flexoraa.crypto import EncryptedTextField
from flexoraa.models import Membership, TenantOwned


class ChannelKind(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    INSTAGRAM = "instagram", "Instagram"
    MESSENGER = "messenger", "Messenger"
    GMAIL = "gmail", "Gmail"


# The Meta channels: their webhooks are signed with the app secret and name the channel by id.
META_KINDS = (ChannelKind.WHATSAPP, ChannelKind.INSTAGRAM, ChannelKind.MESSENGER)


class ChannelStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"


class Channel(TenantOwned):
    """Where a tenant talks to leads. ``external_id`` is how the provider names it: the
    WhatsApp phone_number_id, the Instagram account id, the Messenger page id, or the Gmail
    address. Webhooks find their tenant from it, so it is unique across tenants."""

    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    external_id = models.CharField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=ChannelStatus.choices,
                              default=ChannelStatus.CONNECTED)
    status_reason = models.CharField(max_length=300, blank=True)
    # Meta: the page or system-user access token. Gmail: the OAuth tokens. Encrypted at rest.
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Gmail: where the next users.history.list starts.
    history_id = models.CharField(max_length=32, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "external_id"], name="channel_external_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name or self.external_id}"


class Template(TenantOwned):
    """A message template approved by the provider (WhatsApp), sendable outside the 24-hour
    window. ``body`` shows the text with {{1}}, {{2}} … where the parameters go."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=15, default="en_US")
    body = models.TextField()
    param_count = models.PositiveSmallIntegerField(default=0,
                                                   validators=[MaxValueValidator(20)])
    approved = models.BooleanField(default=True)
    # Cold recovery sends this template when the window is closed.
    for_recovery = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name", "language"],
                                    name="template_once_per_channel"),
        ]

    def __str__(self):
        return f"{self.name} ({self.language})"


class Conversation(TenantOwned):
    """One lead on one channel. ``contact_id`` is how the provider names the person: the
    WhatsApp wa_id, the Instagram / Messenger scoped id, or the email address."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="conversations")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE,
                             related_name="conversations")
    contact_id = models.CharField(max_length=254)
    contact_name = models.CharField(max_length=200, blank=True)
    # Gmail thread to reply in.
    thread_id = models.CharField(max_length=64, blank=True)
    # Who holds the conversation is read through the lead (``assignee``): its owner, so a
    # re-routed or queued lead takes its conversation along. Only a closed lead keeps its
    # owner while its conversation goes to someone else; this is that someone.
    handed_to = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    last_message_at = models.DateTimeField(null=True, blank=True)
    # The customer-service window runs from the last message the lead sent.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    recovery_count = models.PositiveSmallIntegerField(default=0)
    last_recovery_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "contact_id"],
                                    name="conversation_contact_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "-last_message_at"],
                         name="conversation_recent"),
            # Cold recovery looks only at conversations whose last word was ours.
            models.Index(fields=["last_outbound_at"], name="conversation_awaiting_reply",
                         condition=Q(last_outbound_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.channel} · {self.contact_name or self.contact_id}"

    @property
    def assignee(self):
        """The person who holds the conversation: the lead's owner, or, for a closed lead,
        whom the conversation was handed to. ``agents.selectors.assignee_expression`` is
        the same rule in SQL; load ``lead__owner`` and ``handed_to`` with the row."""
        if self.handed_to_id is not None and not self.lead.is_open:
            return self.handed_to
        return self.lead.owner

    @property
    def assignee_id(self):
        if self.handed_to_id is not None and not self.lead.is_open:
            return self.handed_to_id
        return self.lead.owner_id


class Direction(models.TextChoices):
    INBOUND = "inbound", "From the lead"
    OUTBOUND = "outbound", "To the lead"


class SenderKind(models.TextChoices):
    LEAD = "lead", "Lead"
    SDR = "sdr", "Sales rep"
    AI = "ai", "AI agent"
    SYSTEM = "system", "System"


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


# Provider statuses only move forward: a late "delivered" never overwrites "read".
STATUS_RANK = {
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.FAILED: 3,
}


class MessageKind(models.TextChoices):
    TEXT = "text", "Text"
    TEMPLATE = "template", "Template"
    ATTACHMENT = "attachment", "Attachment"
    OTHER = "other", "Other"


class IntentVerdict(models.TextChoices):
    RIGHT = "right", "Right"
    WRONG = "wrong", "Wrong"


class Message(TenantOwned):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    sender = models.CharField(max_length=8, choices=SenderKind.choices)
    author = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    kind = models.CharField(max_length=10, choices=MessageKind.choices,
                            default=MessageKind.TEXT)
    body = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    template_params = models.JSONField(default=list, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    # The provider's id (wamid…, mid…, Gmail id); our own id makes a send idempotent.
    provider_message_id = models.CharField(max_length=200, blank=True)
    client_id = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    status_rank = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # When the provider says the message was written (inbound) or when we created it.
    created_at = models.DateTimeField()
    scheduled_for = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Human replies outside Messenger's / Instagram's 24 hours carry the HUMAN_AGENT tag.
    tag = models.CharField(max_length=32, blank=True)
    # The NLU's reading of an inbound message, and an SDR's verdict on it (drift ground truth).
    predicted_intent = models.CharField(max_length=8, blank=True)
    intent_confidence = models.FloatField(null=True, blank=True,
                                          validators=[MinValueValidator(0),
                                                      MaxValueValidator(1)])
    intent_model_version = models.CharField(max_length=64, blank=True)
    intent_verdict = models.CharField(max_length=8, choices=IntentVerdict.choices, blank=True)
    intent_verdict_by = models.ForeignKey(Membership, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    intent_verdict_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Our own id makes a send idempotent; each tenant has its own ids.
            models.UniqueConstraint(fields=["organization", "client_id"],
                                    name="message_client_id_once"),
            # One message per provider id on a channel's conversations (a second guard behind
            # the webhook dedupe).
            models.UniqueConstraint(
                fields=["conversation", "provider_message_id"],
                condition=~Q(provider_message_id=""), name="message_provider_id_once",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_thread"),
            # Unread counts: a conversation's messages from the lead after a reader's mark.
            models.Index(fields=["conversation", "id"], name="message_inbound",
                         condition=Q(direction="inbound")),
            models.Index(fields=["provider_message_id"], name="message_provider_id",
                         condition=~Q(provider_message_id="")),
            # The scheduled-messages job reads only the due rows.
            models.Index(fields=["scheduled_for"], name="message_scheduled_due",
                         condition=Q(status="scheduled")),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.kind} #{self.pk}"


class InboxSettings(TenantOwned):
    """Per-tenant settings of the inbox and cold recovery; managers edit them in the console."""

    organization = models.OneToOneField("flexoraa.Organization", on_delete=models.CASCADE,
                                        related_name="+")
    recovery_enabled = models.BooleanField(default=True)
    recovery_max_attempts = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(10)],
        help_text="How many recovery messages one silent lead gets at most.",
    )
    recovery_after_hours = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Hours of silence after our last message before a recovery message goes.",
    )
    recovery_text = models.TextField(
        default="Hi! Just checking in: is there anything else I can help you with?",
        help_text="Sent as free text while the lead's window is open; a recovery template "
                  "goes when it is closed.",
    )

    class Meta:
        verbose_name_plural = "inbox settings"

    def __str__(self):
        return "Inbox settings"


class ConversationRead(TenantOwned):
    """How far one person has read one conversation: every message up to
    ``last_read_message_id``. Unread is what the lead wrote after it, counted per person, so
    a manager opening a rep's thread leaves the rep's unread as it was. No row: nothing read.

    Message ids, not times, mark the place: a message the provider delivers late carries an
    older ``created_at`` but a newer id, and still counts as unread."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="reads")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    last_read_message_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "membership"],
                                    name="conversation_read_once"),
        ]

    def __str__(self):
        return f"Conversation #{self.conversation_id} read by #{self.membership_id}"


SHORTCUT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class CannedReply(TenantOwned):
    """A saved answer a rep inserts by typing ``/shortcut`` in the reply box. The body may
    name the lead with placeholders (``agents.canned.PLACEHOLDERS``), filled in when it is
    inserted."""

    title = models.CharField(max_length=100)
    shortcut = models.CharField(
        max_length=32, validators=[RegexValidator(
            SHORTCUT_PATTERN, "Use lower-case letters, digits, - and _ (up to 32), "
                              "starting with a letter or digit.")],
        help_text="Typed after / in the reply box, e.g. pricing for /pricing.",
    )
    body = models.TextField(max_length=4096)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut", "id"]
        verbose_name_plural = "canned replies"
        constraints = [
            models.UniqueConstraint(fields=["organization", "shortcut"],
                                    name="canned_reply_shortcut_once"),
        ]

    def __str__(self):
        return f"/{self.shortcut} · {self.title}"
