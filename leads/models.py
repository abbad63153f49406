"""LeadOS tables: leads, their timeline and assignments, SLA breaches, routing pools and each
tenant's lead settings. Invariants live here as constraints and indexes; workflows live in
services.py."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from flexoraa.models import Membership, TenantOwned


class Tier(models.TextChoices):
    HOT = "hot", "HOT"
    WARM = "warm", "WARM"
    COLD = "cold", "COLD"


class Status(models.TextChoices):
    NEW = "new", "New"
    # Someone wrote to the lead: the first reply moves a new lead here (once).
    CONTACTED = "contacted", "Contacted"
    QUALIFYING = "qualifying", "Qualifying"
    QUALIFIED = "qualified", "Qualified"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    OPTED_OUT = "opted_out", "Opted out"
    ANONYMIZED = "anonymized", "Anonymized"


# A lead an SDR still has to work: it counts against their capacity and is watched by the
# SLA and leakage jobs.
OPEN_STATUSES = (Status.NEW, Status.CONTACTED, Status.QUALIFYING, Status.QUALIFIED)


class Source(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    INSTAGRAM = "instagram", "Instagram"
    MESSENGER = "messenger", "Messenger"
    GMAIL = "gmail", "Gmail"
    WEB_FORM = "web_form", "Web form"
    API = "api", "API"
    CSV_IMPORT = "csv_import", "CSV import"
    MANUAL = "manual", "Entered by hand"


class Authority(models.TextChoices):
    UNKNOWN = "", "Unknown"
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influences the decision"
    USER = "user", "End user, not deciding"


class Timeline(models.TextChoices):
    UNKNOWN = "", "Unknown"
    IMMEDIATE = "immediate", "This week"
    MONTH = "month", "Within a month"
    QUARTER = "quarter", "Within three months"
    LATER = "later", "Later or undecided"


class BudgetPeriod(models.TextChoices):
    ONCE = "", "In all"
    DAY = "day", "A day"
    WEEK = "week", "A week"
    MONTH = "month", "A month"
    YEAR = "year", "A year"


class Intent(models.TextChoices):
    UNKNOWN = "", "Not analysed yet"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class VerificationStatus(models.TextChoices):
    VERIFIED = "verified", "Verified"
    PARTIAL = "partial", "Partly verified"
    FAILED = "failed", "Failed"


class Lead(TenantOwned):
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +919876543210.")
    email = models.EmailField(max_length=254, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)

    tier = models.CharField(max_length=8, choices=Tier.choices)
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    score_breakdown = models.JSONField(default=dict, blank=True)

    owner = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_leads"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    # Qualification, from the SDR, the integration or the agent.
    need = models.TextField(blank=True)
    budget_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    budget_currency = models.CharField(max_length=3, blank=True)
    authority = models.CharField(max_length=16, choices=Authority.choices, blank=True)
    timeline = models.CharField(max_length=16, choices=Timeline.choices, blank=True)
    # A budget stated per period ("₹40k a month") is compared with the deal size over a year.
    budget_period = models.CharField(max_length=8, choices=BudgetPeriod.choices, blank=True)
    # The lead's own words behind each answer the messages gave ({"timeline": "tonight", …}),
    # so the score can say what it read. Personal data: anonymization clears it.
    evidence = models.JSONField(default=dict, blank=True)

    # The NLU's reading of the lead's messages, handed over by the agent.
    intent = models.CharField(max_length=8, choices=Intent.choices, blank=True)
    intent_confidence = models.FloatField(null=True, blank=True)

    # Engagement, kept up to date by the inbox.
    inbound_count = models.PositiveIntegerField(default=0)
    last_reply_seconds = models.PositiveIntegerField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)

    verification_status = models.CharField(max_length=8, choices=VerificationStatus.choices)
    verification = models.JSONField(default=dict, blank=True)

    # Why a lost lead was lost: required on the way to lost, cleared when it reopens.
    lost_reason = models.ForeignKey(
        "LostReason", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # SLA: the first response the current tier promises. Breach is stamped once.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    # When 80 % of the first-response time has passed: the warning job tells the owner then
    # and clears it, so its partial index holds only the warnings still to send.
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    # Leakage: when an owner who has not acted loses the lead; cleared by their first action.
    leak_due_at = models.DateTimeField(null=True, blank=True)
    leak_moves = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="lead_score_at_most_100"),
            # Dedupe is enforced by the database: one lead per phone and per email in a tenant.
            models.UniqueConstraint(
                fields=["organization", "phone"], condition=~Q(phone=""),
                name="lead_unique_phone",
            ),
            models.UniqueConstraint(
                fields=["organization", "email"], condition=~Q(email=""),
                name="lead_unique_email",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="lead_org_recent"),
            models.Index(fields=["organization", "owner", "status"], name="lead_org_owner_status"),
            models.Index(fields=["organization", "tier", "status"], name="lead_org_tier_status"),
            # The SLA check scans only the leads still waiting for a first response.
            models.Index(
                fields=["first_response_due_at"], name="lead_sla_due",
                condition=Q(first_response_at__isnull=True, sla_breached_at__isnull=True,
                            first_response_due_at__isnull=False),
            ),
            # The unassigned queue: open leads nobody holds, soonest first-response target first.
            models.Index(
                fields=["organization", "first_response_due_at", "id"],
                name="lead_unassigned_queue",
                condition=Q(owner__isnull=True,
                            status__in=["new", "contacted", "qualifying", "qualified"]),
            ),
            # The leakage scan scans only leads whose owner has not acted yet.
            models.Index(
                fields=["leak_due_at"], name="lead_leak_due", condition=Q(leak_due_at__isnull=False)
            ),
            # The SLA warning job scans only the warnings still to send.
            models.Index(
                fields=["first_response_warn_at"], name="lead_sla_warn",
                condition=Q(first_response_warn_at__isnull=False),
            ),
        ]

    def __str__(self):
        return self.name or self.email or self.phone or f"Lead #{self.pk}"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES


class LeadEvent(TenantOwned):
    """The lead's timeline, shown to the SDR. ``data`` holds codes and ids, not PII."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        MERGED = "merged", "Merged a duplicate"
        SCORED = "scored", "Scored"
        ASSIGNED = "assigned", "Assigned"
        STATUS = "status", "Status changed"
        UPDATED = "updated", "Details updated"
        FIRST_RESPONSE = "first_response", "First response"
        SLA_BREACHED = "sla_breached", "SLA breached"
        ANALYSED = "analysed", "Messages analysed"
        ACTIVITY = "activity", "Message activity"
        OPTED_OUT = "opted_out", "Opted out (consent withdrawn)"
        QUEUED = "queued", "Waiting in the unassigned queue"
        LEAK_KEPT = "leak_kept", "Kept by its owner: no other SDR had room"
        SLA_CHANGED = "sla_changed", "First-response target changed"
        NOTE = "note", "Note added"
        FOLLOW_UP = "follow_up", "Follow-up"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="leadevent_lead_recent")]

    def __str__(self):
        return f"{self.get_kind_display()} on lead #{self.lead_id}"


class AssignmentReason(models.TextChoices):
    ROUTING = "routing", "Routing"
    LEAKAGE = "leakage", "Leakage prevention"
    ESCALATION = "escalation", "Escalation to a manager"
    MANUAL = "manual", "Reassigned by a manager"
    UPGRADE = "upgrade", "Re-routed when its tier rose"
    QUEUE = "queue", "From the unassigned queue when room freed"
    CLAIM = "claim", "Picked from the unassigned queue"


class LeadAssignment(TenantOwned):
    """Every change of a lead's owner, with the reason."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    from_owner = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_owner = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=AssignmentReason.choices)
    detail = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="assignment_lead_recent"),
            models.Index(fields=["organization", "reason", "-created_at"],
                         name="assignment_org_reason"),
        ]

    def __str__(self):
        return f"Lead #{self.lead_id} → {self.to_owner_id} ({self.reason})"


class SlaBreach(TenantOwned):
    """A missed first-response target. One per lead: a second run of the check cannot record
    the same breach again."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="sla_breach")
    owner = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(max_length=8, choices=Tier.choices)
    due_at = models.DateTimeField()
    breached_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-breached_at", "-id"]
        verbose_name = "SLA breach"
        verbose_name_plural = "SLA breaches"
        indexes = [
            models.Index(fields=["organization", "-breached_at"], name="breach_org_recent"),
            models.Index(fields=["organization"], name="breach_org_open",
                         condition=Q(acknowledged_at__isnull=True)),
        ]

    def __str__(self):
        return f"SLA breach on lead #{self.lead_id}"


class RoutingPoolMember(TenantOwned):
    """An SDR in a tier's pool. A tier with no members routes to every SDR of the tenant."""

    tier = models.CharField(max_length=8, choices=Tier.choices)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["tier", "membership_id"]
        verbose_name = "routing pool member"
        constraints = [
            models.UniqueConstraint(fields=["tier", "membership"], name="pool_member_unique")
        ]

    def __str__(self):
        return f"{self.get_tier_display()} pool: {self.membership}"


class RoutingCredit(TenantOwned):
    """Weighted round-robin state: the virtual finish time of each SDR's next lead in a tier.

    The SDR with the earliest finish wins and moves on by 1 / capacity, so leads spread in
    proportion to capacity (weighted fair queueing, see leads/routing.py)."""

    tier = models.CharField(max_length=8, choices=Tier.choices)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    finish = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tier", "membership"], name="routing_credit_unique")
        ]

    def __str__(self):
        return f"{self.tier} credit of {self.membership_id}: {self.finish:.4f}"


class LeadSettings(TenantOwned):
    """Each tenant's scoring, routing, SLA and leakage settings (defaults fit most teams)."""

    organization = models.OneToOneField(
        "flexoraa.Organization", on_delete=models.PROTECT, related_name="lead_settings"
    )
    weight_intent = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(10)])
    weight_budget = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(10)])
    weight_authority = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(10)]
    )
    weight_timeline = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(10)]
    )
    weight_engagement = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(10)]
    )
    hot_threshold = models.PositiveSmallIntegerField(
        default=70, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="A score at or above this is HOT.",
    )
    warm_threshold = models.PositiveSmallIntegerField(
        default=40, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="A score at or above this (and below HOT) is WARM; below it, COLD.",
    )
    target_deal_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("100000"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text="The deal size the team aims for; budgets are scored against it.",
    )
    target_deal_currency = models.CharField(max_length=3, default="INR")
    sla_hot_minutes = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1)], verbose_name="HOT first response (minutes)"
    )
    sla_warm_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], verbose_name="WARM first response (minutes)"
    )
    sla_cold_minutes = models.PositiveIntegerField(
        default=24 * 60, validators=[MinValueValidator(1)],
        verbose_name="COLD first response (minutes)",
    )
    leak_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("2"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text="A lead moves on when its owner has not acted within this many SLAs.",
    )
    max_leak_moves = models.PositiveSmallIntegerField(
        default=3, help_text="After this many moves a leaking lead goes to a manager instead."
    )
    # Virtual time of each tier's round-robin (see RoutingCredit).
    routing_clock = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = "lead settings"
        verbose_name_plural = "lead settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(warm_threshold__lt=models.F("hot_threshold")),
                name="lead_settings_warm_below_hot",
            ),
        ]

    def __str__(self):
        return f"Lead settings of {self.organization}"

    def sla_minutes(self, tier: str) -> int:
        return {Tier.HOT: self.sla_hot_minutes, Tier.WARM: self.sla_warm_minutes,
                Tier.COLD: self.sla_cold_minutes}[tier]


class LostReason(TenantOwned):
    """One of a tenant's reasons a lead is lost. Managers keep the list in the console; a
    reason in use is retired (``is_active`` off) rather than deleted, so lost leads keep it."""

    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(
        default=100, help_text="Smaller comes first in the list."
    )
    is_active = models.BooleanField(
        default=True, help_text="Untick to stop offering it; leads lost for it keep it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "label"],
                                    name="lost_reason_label_once"),
        ]

    def __str__(self):
        return self.label


class Note(TenantOwned):
    """An internal note on a lead, by a member; never shown to the lead. ``body`` is the
    author's words (may hold personal data): pages escape it and logs never hold it."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(Membership, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    body = models.TextField()
    # The colleagues the note mentions (@username or @First), each told once.
    mentions = models.ManyToManyField(Membership, blank=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="note_lead_recent")]

    def __str__(self):
        return f"Note #{self.pk} on lead #{self.lead_id}"


class FollowUp(TenantOwned):
    """Something a member means to do about a lead by ``due_at``. The due job tells the owner
    once per due time (``notified_at``); rescheduling clears it so the new time is told too."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    owner = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["lead", "due_at"], name="follow_up_lead"),
            # A member's open follow-ups by due time: the home page's "due today".
            models.Index(fields=["organization", "owner", "due_at"], name="follow_up_owner_open",
                         condition=Q(done_at__isnull=True)),
            # The due job reads only open follow-ups nobody was told about yet.
            models.Index(fields=["due_at"], name="follow_up_due",
                         condition=Q(done_at__isnull=True, notified_at__isnull=True)),
        ]

    def __str__(self):
        return f"Follow-up #{self.pk} on lead #{self.lead_id}"

    @property
    def is_open(self):
        return self.done_at is None
