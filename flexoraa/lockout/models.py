from django.db import models
from django.db.models import Q


class Scope(models.TextChoices):
    ACCOUNT = "account", "Account"
    ADDRESS = "address", "Client address"
    API_KEY_ADDRESS = "api_key_address", "Client address (API keys)"


class SignInThrottle(models.Model):
    """One counter per throttled key: a username (lower-cased), or a client address for
    password sign-in or for API keys. The row is what a concurrent attempt locks, so the count
    cannot be read by two attempts at once (see ``flexoraa.lockout.services``)."""

    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(
        default=0,
        help_text="Failed attempts, and password checks still running, since the window began.",
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sign-in lock"
        verbose_name_plural = "sign-in locks"
        ordering = ["-last_attempt_at"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="signin_throttle_unique_key"),
            models.CheckConstraint(condition=~Q(key=""), name="signin_throttle_key_not_empty"),
        ]
        # The console lists, and the prune job deletes, by the time of the last attempt.
        indexes = [models.Index(fields=["last_attempt_at"], name="signin_throttle_last")]

    def __str__(self):
        return f"{self.get_scope_display()} {self.key}"
