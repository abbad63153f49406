"""Use cases that write: one function per use case, keyword-only, one transaction.

Creating, starting, stopping and rolling back are audited. Assignments and observations are
not: they arrive once per lead and per event, and an audit append takes the tenant's chain
lock, which would serialise every lead of the tenant behind it.
"""

import math
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from experiments import assignment
from experiments.errors import (
    ExperimentInvalid,
    ExperimentStatusRefused,
    IdempotencyKeyReused,
    ObservationInvalid,
    VariantRollbackRefused,
)
from experiments.models import Assignment, Experiment, ExperimentStatus, Observation, Variant
from flexoraa.actors import Actor
from flexoraa.errors import NotFound, ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record

MAX_SUBJECT_ID = 2**63 - 1
MAX_DURATION_DAYS = 365
MAX_VARIANTS = 20
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
_METRIC = re.compile(r"^[a-z0-9_.:-]{1,64}$")


def _refuse(problems: dict[str, str], error=ExperimentInvalid):
    field, reason = next(iter(problems.items()))
    raise error(f"{field}: {reason}", fields={name: [text] for name, text in problems.items()})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _owned(org: Organization, experiment: Experiment) -> None:
    # Another tenant's experiment reads exactly like one that does not exist.
    if org is None or experiment is None or experiment.organization_id != org.pk:
        raise NotFound("No such experiment.")


def _check_subject(subject_id, error=ValidationFailed) -> None:
    if not _is_int(subject_id) or not 0 < subject_id <= MAX_SUBJECT_ID:
        _refuse({"subject_id": "Give the lead's id, a whole number above 0."}, error)


def _checked_variants(variants) -> list[dict]:
    """The variants as rows to create, weights filled in; refuses naming the field."""
    if not isinstance(variants, list | tuple) or len(variants) < 2:
        _refuse({"variants": "Give at least two variants: a control and one to test."})
    if len(variants) > MAX_VARIANTS:
        _refuse({"variants": f"Give at most {MAX_VARIANTS} variants."})
    if not all(isinstance(v, dict) for v in variants):
        _refuse({"variants": "Give each variant as an object with key, name and is_control."})
    problems = {}
    keys = [v.get("key") for v in variants]
    if not all(isinstance(k, str) and _SLUG.match(k) for k in keys):
        problems["variants.key"] = ("Give each variant a key of 1 to 64 letters, digits, "
                                    "hyphens or underscores.")
    elif len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        problems["variants.key"] = f"Variant keys must be unique; repeated: {', '.join(repeated)}."
    names = [v.get("name") for v in variants]
    if not all(isinstance(n, str) and n.strip() and len(n) <= 120 for n in names):
        problems["variants.name"] = "Give each variant a name of 1 to 120 characters."
    controls = [v.get("is_control", False) for v in variants]
    if not all(isinstance(c, bool) for c in controls) or controls.count(True) != 1:
        problems["variants.is_control"] = (
            f"Mark exactly one variant as the control ({controls.count(True)} marked).")
    weights = [v.get("weight") for v in variants]
    if all(w is None for w in weights):
        if "variants.is_control" not in problems:
            weights = assignment.even_weights(len(variants), control_index=controls.index(True))
    elif any(w is None for w in weights):
        problems["variants.weight"] = "Give every variant a weight, or none to split evenly."
    elif not all(_is_int(w) and 0 <= w <= 100 for w in weights):
        problems["variants.weight"] = "Give each weight as a whole percent from 0 to 100."
    elif sum(weights) != assignment.TOTAL_WEIGHT:
        problems["variants.weight"] = f"Weights must sum to 100 (they sum to {sum(weights)})."
    configs = [v.get("config", {}) for v in variants]
    if not all(isinstance(c, dict) for c in configs):
        problems["variants.config"] = 'Give each config as an object, e.g. {"tactic": "scarcity"}.'
    if problems:
        _refuse(problems)
    return [
        {"key": key, "name": name.strip(), "is_control": control, "weight": weight,
         "config": config}
        for key, name, control, weight, config in zip(keys, names, controls, weights, configs,
                                                      strict=True)
    ]


def _free_key(org: Organization, wanted: str) -> str:
    taken = set(Experiment.objects.for_org(org).filter(key__startswith=wanted)
                .values_list("key", flat=True))
    key, suffix = wanted, 2
    while key in taken:
        tail = f"-{suffix}"
        key, suffix = wanted[: 64 - len(tail)] + tail, suffix + 1
    return key


def experiment_create(
    *, org: Organization, name: str, variants: list[dict], target_metric: str,
    min_sample_per_variant: int | None = None, duration_days: int = 14,
    key: str | None = None, actor: Actor,
) -> Experiment:
    """Create a draft experiment with its variants. Each variant is a dict with ``key``,
    ``name``, ``is_control``, ``weight`` (percent) and optionally ``config``; omit every weight
    to split 100 evenly, the remainder going to control. The key defaults to the name's slug,
    made unique in the tenant; ``min_sample_per_variant`` defaults to AB_TEST_MIN_SAMPLE_SIZE.

    Raises ``ExperimentInvalid`` naming the field: fewer than two variants, not exactly one
    control, weights not summing to 100, repeated or malformed variant keys, a blank name or
    metric, a sample or duration out of range, or a key the tenant already uses.
    """
    problems = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        problems["name"] = "Give the experiment a name of 1 to 120 characters."
    if not isinstance(target_metric, str) or not _METRIC.match(target_metric):
        problems["target_metric"] = ("Give the metric to judge by, 1 to 64 lowercase letters, "
                                     "digits, dots, colons, hyphens or underscores.")
    if min_sample_per_variant is None:
        min_sample_per_variant = settings.AB_TEST_MIN_SAMPLE_SIZE
    elif not _is_int(min_sample_per_variant) or not 1 <= min_sample_per_variant <= 10**9:
        problems["min_sample_per_variant"] = "Give a whole number of subjects, at least 1."
    if not _is_int(duration_days) or not 1 <= duration_days <= MAX_DURATION_DAYS:
        problems["duration_days"] = f"Give a whole number of days from 1 to {MAX_DURATION_DAYS}."
    if key is not None and (not isinstance(key, str) or not _SLUG.match(key)):
        problems["key"] = "Give a key of 1 to 64 letters, digits, hyphens or underscores."
    if problems:
        _refuse(problems)
    rows = _checked_variants(variants)
    with transaction.atomic():
        if key is None:
            key = _free_key(org, slugify(name)[:64] or "experiment")
        elif Experiment.objects.for_org(org).filter(key=key).exists():
            _refuse({"key": f"This tenant already has an experiment with the key '{key}'."})
        experiment = Experiment.objects.create(
            organization=org, name=name.strip(), key=key, target_metric=target_metric,
            min_sample_per_variant=min_sample_per_variant, duration_days=duration_days,
        )
        # One by one, in the given order: the ids fix the order of the weight ranges.
        for row in rows:
            Variant.objects.create(organization=org, experiment=experiment, **row)
        audit_event_record(org=org, actor=actor, action="experiment.create", target=experiment,
                           data={"key": key, "variants": {r["key"]: r["weight"] for r in rows},
                                 "target_metric": target_metric})
    return experiment


def _locked(org: Organization, experiment: Experiment) -> Experiment:
    _owned(org, experiment)
    return Experiment.objects.for_org(org).select_for_update().get(pk=experiment.pk)


def _move(org, experiment, *, to: str, verb: str, allowed_from: set[str], actor: Actor,
          **changes) -> Experiment:
    with transaction.atomic():
        locked = _locked(org, experiment)
        if locked.status not in allowed_from:
            _refuse({"status": f"A {locked.get_status_display().lower()} experiment cannot be "
                               f"{verb}."},
                    ExperimentStatusRefused)
        was = locked.status
        locked.status = to
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.save(update_fields=["status", *changes])
        audit_event_record(org=org, actor=actor, action=f"experiment.{to}", target=locked,
                           data={"from": was, "to": to})
    return locked


def experiment_start(*, org: Organization, experiment: Experiment, actor: Actor) -> Experiment:
    """Start a draft: from now on subjects are assigned. Raises ``NotFound`` for another
    tenant's experiment and ``ExperimentStatusRefused`` unless it is a draft."""
    return _move(org, experiment, to=ExperimentStatus.RUNNING, verb="started",
                 allowed_from={ExperimentStatus.DRAFT}, actor=actor, started_at=timezone.now())


def experiment_stop(*, org: Organization, experiment: Experiment, actor: Actor) -> Experiment:
    """Stop a draft or running experiment: everyone gets control from now on, and every
    assignment and observation is kept. Raises ``NotFound`` for another tenant's experiment
    and ``ExperimentStatusRefused`` when it has already ended."""
    return _move(org, experiment, to=ExperimentStatus.STOPPED, verb="stopped",
                 allowed_from={ExperimentStatus.DRAFT, ExperimentStatus.RUNNING}, actor=actor)


def variant_rollback(
    *, org: Organization, experiment: Experiment, variant: Variant, actor: Actor
) -> Variant:
    """Roll one variant back: its subjects get control from their next assignment on, nobody
    else moves. When only control is left the experiment is rolled back as a whole.

    Raises ``NotFound`` for another tenant's experiment or a variant of another experiment,
    ``VariantRollbackRefused`` for the control or a variant already rolled back, and
    ``ExperimentStatusRefused`` unless the experiment is running.
    """
    _owned(org, experiment)
    if variant is None or variant.experiment_id != experiment.pk:
        raise NotFound("No such variant.")
    with transaction.atomic():
        locked = _locked(org, experiment)
        if locked.status != ExperimentStatus.RUNNING:
            _refuse({"status": "Only a running experiment's variants are rolled back."},
                    ExperimentStatusRefused)
        variants = list(Variant.objects.for_org(org).filter(experiment=locked)
                        .select_for_update())
        target = next(v for v in variants if v.pk == variant.pk)
        if target.is_control:
            _refuse({"variant": "The control cannot be rolled back; stop the experiment."},
                    VariantRollbackRefused)
        if target.is_rolled_back:
            _refuse({"variant": "This variant is already rolled back."}, VariantRollbackRefused)
        target.rolled_back_at = timezone.now()
        target.save(update_fields=["rolled_back_at"])
        left = [v for v in variants if not v.is_control and not v.is_rolled_back]
        audit_event_record(org=org, actor=actor, action="variant.rollback", target=target,
                           data={"experiment_id": locked.pk, "variant": target.key})
        if not left:
            locked.status = ExperimentStatus.ROLLED_BACK
            locked.save(update_fields=["status"])
            audit_event_record(org=org, actor=actor, action="experiment.rolled_back",
                               target=locked, data={"from": ExperimentStatus.RUNNING,
                                                    "to": ExperimentStatus.ROLLED_BACK})
    return target


def _current_variant(variants: list[Variant], experiment_key: str, subject_id: int) -> Variant:
    control = next(v for v in variants if v.is_control)
    key = assignment.variant_key_for(
        experiment_key=experiment_key, subject_id=subject_id,
        weights=[(v.key, v.weight) for v in variants],
        rolled_back=[v.key for v in variants if v.is_rolled_back], control=control.key,
    )
    return next(v for v in variants if v.key == key)


def variant_for(*, org: Organization, experiment: Experiment, subject_id: int) -> Variant:
    """The variant this subject (a lead id) gets, the same every time.

    While the experiment runs: the stored assignment, or on first sight the variant of the
    subject's bucket, stored (a concurrent first sight stores one row, and both callers get
    it). A subject whose variant was rolled back is moved to control. In any other status, or
    with ENABLE_AB_TESTING off, everyone gets control and nothing is written or removed.

    Raises ``NotFound`` for another tenant's experiment and ``ValidationFailed`` (field
    ``subject_id``) for an id that is not a positive whole number.
    """
    _owned(org, experiment)
    _check_subject(subject_id)
    # Fresh from the database with their experiment's status: a roll-back or stop made by
    # another process since the caller loaded the experiment applies at once.
    variants = list(Variant.objects.for_org(org).filter(experiment_id=experiment.pk)
                    .select_related("experiment").order_by("id"))
    control = next(v for v in variants if v.is_control)
    status = variants[0].experiment.status
    if not settings.ENABLE_AB_TESTING or status != ExperimentStatus.RUNNING:
        return control
    by_id = {v.pk: v for v in variants}
    with transaction.atomic():
        stored = (Assignment.objects.for_org(org)
                  .filter(experiment_id=experiment.pk, subject_id=subject_id)
                  .values_list("variant_id", flat=True).first())
        if stored is None:
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
    same key again returns the first observation and records nothing.

    Raises ``NotFound`` for another tenant's experiment, ``ObservationInvalid`` naming the
    field (subject without an assignment here, metric, value that is not a finite number, key
    of 0 or more than 255 characters), and ``IdempotencyKeyReused`` when the key was used for
    a different observation.
    """
    _owned(org, experiment)
    _check_subject(subject_id, ObservationInvalid)
    problems = {}
    if not isinstance(metric, str) or not _METRIC.match(metric):
        problems["metric"] = ("Give the metric as 1 to 64 lowercase letters, digits, dots, "
                              "colons, hyphens or underscores.")
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value)):
        problems["value"] = "Give the value as a finite number."
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 255:
        problems["idempotency_key"] = "Give a key of 1 to 255 characters, unique per observation."
    if problems:
        _refuse(problems, ObservationInvalid)
    value = float(value)
    scoped = Observation.objects.for_org(org).filter(experiment_id=experiment.pk)
    with transaction.atomic():
        first = scoped.filter(idempotency_key=idempotency_key).first()
        if first is None:
            variant_id = (Assignment.objects.for_org(org)
                          .filter(experiment_id=experiment.pk, subject_id=subject_id)
                          .values_list("variant_id", flat=True).first())
            if variant_id is None:
                _refuse({"subject_id": "This lead holds no variant in this experiment."},
                        ObservationInvalid)
            Observation.objects.bulk_create(
                [Observation(organization=org, experiment_id=experiment.pk,
                             variant_id=variant_id, subject_id=subject_id, metric=metric,
                             value=value, observed_at=observed_at or timezone.now(),
                             idempotency_key=idempotency_key)],
                ignore_conflicts=True,
            )
            first = scoped.get(idempotency_key=idempotency_key)
        if (first.subject_id, first.metric, first.value) != (subject_id, metric, value):
            _refuse({"idempotency_key": "Already used for a different observation."},
                    IdempotencyKeyReused)
    return first
