"""A/B experiments: the experiment and its variants, each subject's sticky assignment, and
the observations recorded against it.

Subjects are leads, held by id only: experiments sits below leads in the import order, so it
cannot point a foreign key at them.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from flexoraa.models import TenantOwned


def default_min_sample() -> int:
    return settings.AB_TEST_MIN_SAMPLE_SIZE


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    ROLLED_BACK = "rolled_back", "Rolled back"
    COMPLETED = "completed", "Completed"


class Experiment(TenantOwned):
    name = models.CharField(max_length=120)
    key = models.SlugField(max_length=64, help_text="Seeds the assignment hash; never changes.")
    status = models.CharField(max_length=16, choices=ExperimentStatus.choices,
                              default=ExperimentStatus.DRAFT)
    target_metric = models.CharField(
        max_length=64, help_text="The metric whose observations above 0 count as conversions.")
    min_sample_per_variant = models.PositiveIntegerField(
        default=default_min_sample, validators=[MinValueValidator(1)],
        help_text="Subjects each variant needs before the results give a verdict.")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it stopped, rolled back or completed.")
    duration_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(365)])
    # Kill-switch thresholds: the relative rise over control that trips a variant, judged only
    # once both arms have min_exposure subjects.
    kill_error_rate_up = models.FloatField(default=0.5)
    kill_response_time_up = models.FloatField(default=0.3)
    kill_hallucination_rate_up = models.FloatField(default=1.0)
    kill_objection_rate_up = models.FloatField(default=0.8)
    kill_min_exposure = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"],
                                    name="experiment_key_unique_per_tenant"),
            models.CheckConstraint(condition=Q(min_sample_per_variant__gte=1),
                                   name="experiment_min_sample_positive"),
            models.CheckConstraint(condition=Q(duration_days__gte=1, duration_days__lte=365),
                                   name="experiment_duration_1_to_365_days"),
            models.CheckConstraint(
                condition=Q(kill_error_rate_up__gt=0, kill_response_time_up__gt=0,
                            kill_hallucination_rate_up__gt=0, kill_objection_rate_up__gt=0),
                name="experiment_kill_thresholds_positive"),
            models.CheckConstraint(condition=Q(status__in=ExperimentStatus.values),
                                   name="experiment_status_known"),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="experiment_org_status")]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"


class Variant(TenantOwned):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=120)
    is_control = models.BooleanField(default=False)
    # Percent of the buckets; kept after a roll-back so the other variants' buckets stay put.
    weight = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    config = models.JSONField(default=dict, blank=True,
                              help_text='What the variant changes, e.g. {"tactic": "scarcity"}.')
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Creation order is the order of the weight ranges: it must never change.
        ordering = ["experiment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"],
                                    name="variant_key_unique_per_experiment"),
            models.UniqueConstraint(fields=["experiment"], condition=Q(is_control=True),
                                    name="variant_one_control_per_experiment"),
            models.CheckConstraint(condition=Q(weight__gte=0, weight__lte=100),
                                   name="variant_weight_0_to_100"),
            models.CheckConstraint(condition=Q(is_control=False) | Q(rolled_back_at__isnull=True),
                                   name="variant_control_never_rolled_back"),
        ]

    def __str__(self):
        return f"{self.name} ({self.weight} %)"

    @property
    def is_rolled_back(self) -> bool:
        return self.rolled_back_at is not None


class Assignment(TenantOwned):
    """The variant a subject gets, stored on first sight so it never changes (except to
    control when its variant is rolled back)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="assignments")
    subject_id = models.BigIntegerField(help_text="The lead's id.")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "subject_id"],
                                    name="assignment_one_per_subject"),
        ]
        # The results count assignments per variant.
        indexes = [models.Index(fields=["experiment", "variant"], name="assignment_by_variant")]

    def __str__(self):
        return f"subject {self.subject_id} → {self.variant_id}"


class Observation(TenantOwned):
    """One measurement of a subject (a conversion, an error, a response time …), recorded
    once per caller's idempotency key."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="observations")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="observations")
    subject_id = models.BigIntegerField()
    metric = models.CharField(max_length=64)
    value = models.FloatField()
    observed_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "idempotency_key"],
                                    name="observation_idempotency_key_unique"),
        ]
        indexes = [
            # Conversions: does this subject have a target-metric observation in its variant?
            models.Index(fields=["experiment", "subject_id", "metric"],
                         name="observation_by_subject"),
        ]

    def __str__(self):
        return f"{self.metric}={self.value} (subject {self.subject_id})"


class KillSwitchMetric(models.TextChoices):
    """The guard-rail metrics a kill-switch watches, each named after the observation metric
    it reads."""

    ERROR_RATE = "error", "Error rate"
    RESPONSE_TIME = "response_time_ms", "Response time"
    HALLUCINATION_RATE = "hallucination", "Hallucination rate"
    OBJECTION_RATE = "objection", "Objection rate"


# Each kill-switch's threshold field on the experiment, in the order the switches are judged.
KILL_THRESHOLD_FIELDS = {
    KillSwitchMetric.ERROR_RATE: "kill_error_rate_up",
    KillSwitchMetric.RESPONSE_TIME: "kill_response_time_up",
    KillSwitchMetric.HALLUCINATION_RATE: "kill_hallucination_rate_up",
    KillSwitchMetric.OBJECTION_RATE: "kill_objection_rate_up",
}


class KillSwitchTrip(TenantOwned):
    """A kill-switch that tripped: the numbers that tripped it, kept for the results page's
    history and the managers' email."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="kill_switch_trips")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE,
                                related_name="kill_switch_trips")
    metric = models.CharField(max_length=32, choices=KillSwitchMetric.choices)
    threshold = models.FloatField(help_text="The relative rise over control that trips it.")
    control_value = models.FloatField()
    variant_value = models.FloatField()
    control_n = models.PositiveIntegerField()
    variant_n = models.PositiveIntegerField()
    p_value = models.FloatField(help_text="One-sided: the rise is above the threshold.")
    experiment_rolled_back = models.BooleanField(
        default=False, help_text="The whole experiment rolled back: no variant was left.")
    tripped_at = models.DateTimeField()

    class Meta:
        ordering = ["-tripped_at", "-id"]
        constraints = [
            # A variant is rolled back once, so it trips once.
            models.UniqueConstraint(fields=["variant"], name="kill_switch_trip_once_per_variant"),
            models.CheckConstraint(condition=Q(metric__in=KillSwitchMetric.values),
                                   name="kill_switch_trip_metric_known"),
        ]

    def __str__(self):
        return f"{self.get_metric_display()} tripped {self.variant_id}"
