"""Platform core tables: tenants, people, API keys, the audit log and job bookkeeping."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from flexoraa.business_hours import parse_business_hours


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone such as Asia/Kolkata.")


def validate_business_hours(value) -> None:
    try:
        parse_business_hours(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class Organization(models.Model):
    """A tenant: one sales team and everything it owns."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(
        max_length=64, default="Asia/Kolkata", validators=[validate_timezone]
    )
    country = models.CharField(
        max_length=2, default="IN", help_text="ISO 3166 region used to read local phone numbers.",
        validators=[RegexValidator(r"^[A-Z]{2}$", "Two capital letters, such as IN or US.")],
    )
    business_hours = models.JSONField(
        default=dict, blank=True, validators=[validate_business_hours],
        help_text='In the organization\'s time zone, e.g. {"mon": ["09:00", "18:00"], ...}; '
                  "a day left out is closed; empty means always open.",
    )
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TenantQuerySet(models.QuerySet):
    def for_org(self, org):
        """The one tenancy scope. ``None`` yields nothing: tenancy fails closed."""
        if org is None:
            return self.none()
        return self.filter(organization=org)


TenantManager = models.Manager.from_queryset(TenantQuerySet)


class TenantOwned(models.Model):
    """Base for every tenant-owned table: queries go through ``Model.objects.for_org(org)``."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    SDR = "sdr", "Sales rep (SDR)"


MANAGING_ROLES = frozenset({Role.OWNER, Role.MANAGER})
MAX_CAPACITY = 10_000


class NotificationKind(models.TextChoices):
    LEAD_ASSIGNED = "lead_assigned", "A lead was assigned to me"
    LEAD_HOT = "lead_hot", "A HOT lead"
    SLA_WARNING = "sla_warning", "An SLA is about to breach"
    FOLLOW_UP_DUE = "follow_up_due", "A follow-up is due"
    CONVERSATION_TRANSFERRED = "conversation_transferred", "A conversation was transferred to me"
    MENTION = "mention", "I was mentioned in a note"


# What a member gets by email until they choose: the two kinds that ask them to act at once
# and come rarely enough not to bury their mailbox. Assignments come dozens a day, and an SLA
# warning (a minute or two before the breach of a HOT lead) is over before a mail is read.
DEFAULT_EMAIL_KINDS = (NotificationKind.LEAD_HOT, NotificationKind.MENTION)


def default_email_kinds() -> list[str]:
    return [str(kind) for kind in DEFAULT_EMAIL_KINDS]


def validate_notification_kinds(value) -> None:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValidationError("A list of notification kinds.")
    unknown = sorted(set(value) - set(NotificationKind.values))
    if unknown:
        raise ValidationError(
            f"Unknown notification kind {', '.join(unknown)}; choose among "
            f"{', '.join(NotificationKind.values)}."
        )


class Membership(TenantOwned):
    """A person's place in a tenant: role, lead capacity and availability."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SDR)
    capacity = models.PositiveIntegerField(
        default=10, validators=[MaxValueValidator(MAX_CAPACITY)],
        help_text=f"How many open leads this person can hold at once (0 to {MAX_CAPACITY:,}).",
    )
    is_available = models.BooleanField(default=True)
    # The notification kinds this person also wants by email (``NotificationKind`` values);
    # they choose on their notifications page.
    notify_by_email = models.JSONField(
        default=default_email_kinds, blank=True, validators=[validate_notification_kinds],
        help_text="Notification kinds this person also gets by email.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Pages of a tenant's team stream from the (organization, id) index, so a page costs
        # the same at 40 members and at 4,000.
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]
        indexes = [models.Index(fields=["organization", "id"], name="membership_org_page")]

    def __str__(self):
        return f"{self.user.get_username()} ({self.get_role_display()})"

    @property
    def is_manager(self):
        return self.role in MANAGING_ROLES


class Notification(TenantOwned):
    """Something a person should know, in their notification centre: stored once per event
    and person (``dedupe_key``), read or unread for that person alone. Created by services
    after their transaction commits (``flexoraa.notifications``), never by signals."""

    recipient = models.ForeignKey(Membership, on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path on this site (the lead, the conversation); opening the notification goes there.
    url = models.CharField(max_length=300, blank=True)
    # Names the event ("lead:42:hot:…"): the same event never notifies the same person twice,
    # whoever runs it again (a job run twice, a retried task).
    dedupe_key = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"],
                                    name="notification_once_per_event"),
        ]
        indexes = [
            # The bell's unread count and the unread list: one person's unread rows only.
            models.Index(fields=["recipient", "read_at", "-created_at"],
                         name="notification_unread"),
            # The notifications page: one person's rows, newest first, read or not.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recent"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} for membership {self.recipient_id}"

    @property
    def is_read(self):
        return self.read_at is not None


class ApiKey(TenantOwned):
    """An integration's credential. Only a hash is stored; the key is shown once."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None


class AuditEvent(TenantOwned):
    """Append-only, hash-chained per tenant. Holds ids and non-PII data only."""

    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The code name of the system actor ("webhook:razorpay", "job:leads.sla_check"); empty
    # when a person or a key acted, and on events written before the name was kept.
    actor_system = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["organization", "id"]
        indexes = [models.Index(fields=["organization", "-id"], name="audit_org_recent")]
        constraints = [
            # One actor per event: a person, a key or the system, never two at once.
            models.CheckConstraint(
                condition=(
                    Q(actor_user__isnull=True, actor_api_key__isnull=True)
                    | Q(actor_user__isnull=True, actor_system="")
                    | Q(actor_api_key__isnull=True, actor_system="")
                ),
                name="audit_one_actor",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_id}"


class JobLease(models.Model):
    """Who runs a periodic job right now. One row per job name: a second runner is refused
    while the lease holds, and a crashed runner's lease expires after the task time limit."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} held until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class JobRun(models.Model):
    """History of periodic job runs, shown to managers and checked by tests."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    name = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="jobrun_name_recent")]

    def __str__(self):
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"


class BeatTick(models.Model):
    """A single row beat refreshes as it ticks, so /healthz can tell beat is alive."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    ticked_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="beattick_singleton")]

    def __str__(self):
        return f"beat ticked at {self.ticked_at:%Y-%m-%d %H:%M:%S}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """A provider's event as it arrived, stored before it is processed: a crash loses nothing,
    and a re-delivery of the same event is recognised by (provider, event id) and ignored.

    Its life (``flexoraa.webhooks``): pending until processed once; a transient failure stays
    pending with ``next_attempt_at`` further out each time; a permanent one is ``failed``,
    kept with its error until a person replays it from the console."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=64, blank=True)
    # Known once the event is matched to a tenant; raw provider payloads can hold PII, so
    # anonymization reaches them through this column.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField()
    # Characters the database cannot store (NUL, unpaired surrogates) were replaced by U+FFFD.
    sanitized = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Not before this time will the redrive queue it again (growing waits after failures).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]
        indexes = [
            models.Index(fields=["received_at"], name="webhook_pending",
                         condition=Q(state="pending")),
            # The redrive counts the failed ones every minute: by index, never by a scan.
            models.Index(fields=["received_at"], name="webhook_failed",
                         condition=Q(state="failed")),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type} {self.event_id}"
