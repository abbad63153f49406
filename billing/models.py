"""Token economy tables: each tenant's wallet and its append-only ledger, the packages sold,
the price of each AI action, and Razorpay payments.

The wallet balance is a cache of the ledger: it changes only in the same transaction as a
ledger row, never goes below zero (a CHECK), and ``verify_ledger`` proves balance = Σ delta.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from flexoraa.models import ApiKey, Membership, TenantOwned


class TokenWallet(TenantOwned):
    organization = models.OneToOneField(
        "flexoraa.Organization", on_delete=models.PROTECT, related_name="token_wallet"
    )
    balance = models.BigIntegerField(default=0)
    low_balance_threshold = models.BigIntegerField(
        default=1000, validators=[MinValueValidator(0)],
        help_text="Owners and managers are told once when the balance drops below this.",
    )
    # Set when the drop below the threshold has been told; cleared when the balance recovers,
    # so each crossing is told once.
    low_balance_alerted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative"),
            models.CheckConstraint(condition=Q(low_balance_threshold__gte=0),
                                   name="wallet_threshold_not_negative"),
        ]
        indexes = [
            # The hourly alert scans only wallets below their threshold not yet told.
            models.Index(fields=["organization"], name="wallet_low_untold",
                         condition=Q(low_balance_alerted_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.organization}: {self.balance:,} tokens"

    @property
    def is_low(self) -> bool:
        return self.balance < self.low_balance_threshold


class LedgerReason(models.TextChoices):
    PURCHASE = "purchase", "Tokens bought"
    REFUND = "refund", "Payment refunded"
    USAGE = "usage", "AI usage"
    ADJUSTMENT = "adjustment", "Adjustment"


class TokenLedgerEntry(TenantOwned):
    """One change of a wallet. Append-only (a PostgreSQL trigger refuses UPDATE and DELETE)."""

    delta = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=16, choices=LedgerReason.choices)
    action = models.CharField(max_length=48, blank=True,
                              help_text="For usage: the priced AI action.")
    reference = models.CharField(max_length=128, blank=True,
                                 help_text="What it was for: a payment, message or lead id.")
    idempotency_key = models.CharField(max_length=255)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The SDR the usage is for, when there is one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "token ledger entry"
        verbose_name_plural = "token ledger"
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"],
                                    name="ledger_idempotency_key_unique"),
            models.CheckConstraint(condition=~Q(delta=0), name="ledger_delta_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0),
                                   name="ledger_balance_after_not_negative"),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="ledger_org_recent"),
            models.Index(fields=["organization", "reason", "created_at"],
                         name="ledger_org_reason_time"),
        ]

    def __str__(self):
        return f"{self.delta:+,} ({self.reason}) → {self.balance_after:,}"


class TokenPackage(models.Model):
    """What tenants can buy. Platform-wide: superusers set packages and prices."""

    name = models.CharField(max_length=80)
    tokens = models.PositiveBigIntegerField(validators=[MinValueValidator(1)])
    price_paise = models.PositiveBigIntegerField(
        validators=[MinValueValidator(100)], help_text="In the currency's smallest unit."
    )
    currency = models.CharField(max_length=3, default="INR")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price_paise"]

    def __str__(self):
        price = f"{self.price_paise / 100:,.2f} {self.currency}"
        return f"{self.name}: {self.tokens:,} tokens for {price}"


class AiAction(models.TextChoices):
    CLASSIFICATION = "classification", "Message classification"
    REPLY = "reply", "AI reply"
    LLM_1K_TOKENS = "llm_1k_tokens", "LLM usage per 1,000 model tokens"
    QUALIFICATION = "qualification", "Qualification turn"


class ActionPrice(TenantOwned):
    """How many wallet tokens one unit of an AI action costs in this tenant. Managers edit it."""

    action = models.CharField(max_length=48, choices=AiAction.choices)
    tokens = models.PositiveIntegerField(validators=[MaxValueValidator(1_000_000)])

    class Meta:
        ordering = ["action"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "action"], name="action_price_unique")
        ]

    def __str__(self):
        return f"{self.get_action_display()}: {self.tokens} tokens"


DEFAULT_ACTION_PRICES = {
    AiAction.CLASSIFICATION: 1,
    AiAction.REPLY: 5,
    AiAction.LLM_1K_TOKENS: 2,
    AiAction.QUALIFICATION: 3,
}


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Awaiting payment"
    AUTHORIZED = "authorized", "Authorized, awaiting capture"
    CAPTURED = "captured", "Paid"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


class Payment(TenantOwned):
    """A purchase of a token package through a Razorpay order."""

    package = models.ForeignKey(TokenPackage, on_delete=models.PROTECT, related_name="+")
    tokens = models.PositiveBigIntegerField()
    amount_paise = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    receipt = models.CharField(max_length=40, unique=True)
    razorpay_order_id = models.CharField(max_length=64, unique=True)
    razorpay_payment_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices,
                              default=PaymentStatus.CREATED)
    method = models.CharField(max_length=32, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    refunded_paise = models.PositiveBigIntegerField(default=0)
    refunded_tokens = models.PositiveBigIntegerField(default=0)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="payment_org_recent")]

    def __str__(self):
        return f"{self.receipt} ({self.get_status_display()})"

    @property
    def amount(self):
        return self.amount_paise / 100
