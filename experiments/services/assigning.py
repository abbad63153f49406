"""Which variant a subject gets, and what is observed of it. Not audited: they arrive once
per lead and per event, and an audit append takes the tenant's chain lock, which would
serialise every lead of the tenant behind it."""

import math

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiments import assignment
from experiments.errors import IdempotencyKeyReused, ObservationInvalid
from experiments.models import Assignment, Experiment, ExperimentStatus, Observation, Variant
from experiments.services.common import METRIC, owned, refuse, subject_check
from flexoraa.errors import NotFound
from flexoraa.models import Organization
from flexoraa.subjects import subject_exists

# Subjects are leads, checked through the registry leads fills in (flexoraa.subjects).
SUBJECT_KIND = "lead"


def _current_variant(variants: list[Variant], experiment_key: str, subject_id: int) -> Variant:
    control = next(v for v in variants if v.is_control)
    key = assignment.variant_key_for(
        experiment_key=experiment_key, subject_id=subject_id,
        weights=[(v.key, v.weight) for v in variants],
        rolled_back=[v.key for v in variants if v.is_rolled_back], control=control.key,
    )
    return next(v for v in variants if v.key == key)


def _refuse_unknown_subject(org: Organization, subject_id: int) -> None:
    if not subject_exists(SUBJECT_KIND, org, subject_id):
        raise NotFound("No such lead.")


def variant_for(*, org: Organization, experiment: Experiment, subject_id: int) -> Variant:
    """The variant this subject (a lead id) gets, the same every time.

    While the experiment runs: the stored assignment, or on first sight the variant of the
    subject's bucket, stored (a concurrent first sight stores one row, and both callers get
    it). A subject whose variant was rolled back is moved to control. In any other status, or
    with ENABLE_AB_TESTING off, everyone gets control and nothing is written or removed.

    A subject seen for the first time must be one of the tenant's leads (``flexoraa.subjects``;
    allowed when no app registered the check); a stored assignment is not looked up again.

    Raises ``NotFound`` for another tenant's experiment, ``NotFound("No such lead.")`` for an
    id that is not one of the tenant's leads (another tenant's or none), and
    ``ValidationFailed`` (field ``subject_id``) for an id that is not a positive whole number.
    """
    owned(org, experiment)
    subject_check(subject_id)
    # Fresh from the database with their experiment's status: a roll-back or stop made by
    # another process since the caller loaded the experiment applies at once.
    variants = list(Variant.objects.for_org(org).filter(experiment_id=experiment.pk)
                    .select_related("experiment").order_by("id"))
    control = next(v for v in variants if v.is_control)
    status = variants[0].experiment.status
    if not settings.ENABLE_AB_TESTING or status != ExperimentStatus.RUNNING:
        # Nothing is stored here, so every call is a first sight: a lead that is not the
        # tenant's is refused in every status alike, never answered with control.
        _refuse_unknown_subject(org, subject_id)
        return control
    by_id = {v.pk: v for v in variants}
    with transaction.atomic():
        stored = (Assignment.objects.for_org(org)
                  .filter(experiment_id=experiment.pk, subject_id=subject_id)
                  .values_list("variant_id", flat=True).first())
        if stored is None:
            _refuse_unknown_subject(org, subject_id)
            chosen = _current_variant(variants, experiment.key, subject_id)
            # ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite): a concurrent first sight
            # cannot fail, and the row that won is read back below.
            Assignment.objects.bulk_create(
                [Assignment(organization=org, experiment_id=experiment.pk,
                            subject_id=subject_id, variant=chosen)],
                ignore_conflicts=True,
            )
            stored = (Assignment.objects.for_org(org)
                      .filter(experiment_id=experiment.pk, subject_id=subject_id)
                      .values_list("variant_id", flat=True).get())
        variant = by_id[stored]
        if variant.is_rolled_back:
            # Conditional on the old variant, so two callers move it once.
            Assignment.objects.for_org(org).filter(
                experiment_id=experiment.pk, subject_id=subject_id, variant_id=variant.pk,
            ).update(variant=control)
            variant = control
    return variant


def observation_record(
    *, org: Organization, experiment: Experiment, subject_id: int, metric: str, value: float,
    idempotency_key: str, observed_at=None,
) -> Observation:
    """Record one measurement of an assigned subject, against the variant it holds now. The
    same key again returns the first observation and records nothing. The observation
    returned carries ``replayed``: False only for the call that recorded it.

    Raises ``NotFound`` for another tenant's experiment, ``ObservationInvalid`` naming the
    field (subject without an assignment here, metric, value that is not a finite number, key
    of 0 or more than 255 characters), and ``IdempotencyKeyReused`` when the key was used for
    a different observation.
    """
    owned(org, experiment)
    subject_check(subject_id, ObservationInvalid)
    problems = {}
    if not isinstance(metric, str) or not METRIC.match(metric):
        problems["metric"] = ("Give the metric as 1 to 64 lowercase letters, digits, dots, "
                              "colons, hyphens or underscores.")
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value)):
        problems["value"] = "Give the value as a finite number."
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 255:
        problems["idempotency_key"] = "Give a key of 1 to 255 characters, unique per observation."
    if problems:
        refuse(problems, ObservationInvalid)
    value = float(value)
    scoped = Observation.objects.for_org(org).filter(experiment_id=experiment.pk)
    with transaction.atomic():
        first = scoped.filter(idempotency_key=idempotency_key).first()
        if first is None:
            variant_id = (Assignment.objects.for_org(org)
                          .filter(experiment_id=experiment.pk, subject_id=subject_id)
                          .values_list("variant_id", flat=True).first())
            if variant_id is None:
                refuse({"subject_id": "This lead holds no variant in this experiment."},
                        ObservationInvalid)
            try:
                # A savepoint: when a concurrent call records the same key first, this insert
                # waits for it and fails, and the row that won is read back.
                with transaction.atomic():
                    first = Observation.objects.create(
                        organization=org, experiment_id=experiment.pk, variant_id=variant_id,
                        subject_id=subject_id, metric=metric, value=value,
                        observed_at=observed_at or timezone.now(),
                        idempotency_key=idempotency_key)
                first.replayed = False
            except IntegrityError:
                first = scoped.get(idempotency_key=idempotency_key)
        if (first.subject_id, first.metric, first.value) != (subject_id, metric, value):
            refuse({"idempotency_key": "Already used for a different observation."},
                    IdempotencyKeyReused)
    if not hasattr(first, "replayed"):
        first.replayed = True
    return first
