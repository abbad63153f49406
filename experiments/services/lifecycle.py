"""An experiment's life: create, start, stop, roll a variant back. Each is one transaction
and writes its audit event in it."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from experiments import assignment
from experiments.errors import ExperimentStatusRefused, VariantRollbackRefused
from experiments.models import KILL_THRESHOLD_FIELDS, Experiment, ExperimentStatus, Variant
from experiments.services.common import METRIC, SLUG, is_int, owned, refuse
from flexoraa.actors import Actor
from flexoraa.errors import NotFound
from flexoraa.models import Organization
from flexoraa.services import audit_event_record

MAX_DURATION_DAYS = 365
MAX_VARIANTS = 20
KEY_ATTEMPTS = 3  # a name's key taken by concurrent creates: the next free one is tried


def _checked_variants(variants) -> list[dict]:
    """The variants as rows to create, weights filled in; refuses naming the field."""
    if not isinstance(variants, list | tuple) or len(variants) < 2:
        refuse({"variants": "Give at least two variants: a control and one to test."})
    if len(variants) > MAX_VARIANTS:
        refuse({"variants": f"Give at most {MAX_VARIANTS} variants."})
    if not all(isinstance(v, dict) for v in variants):
        refuse({"variants": "Give each variant as an object with key, name and is_control."})
    problems = {}
    keys = [v.get("key") for v in variants]
    if not all(isinstance(k, str) and SLUG.match(k) for k in keys):
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
    elif not all(is_int(w) and 0 <= w <= 100 for w in weights):
        problems["variants.weight"] = "Give each weight as a whole percent from 0 to 100."
    elif sum(weights) != assignment.TOTAL_WEIGHT:
        problems["variants.weight"] = f"Weights must sum to 100 (they sum to {sum(weights)})."
    configs = [v.get("config", {}) for v in variants]
    if not all(isinstance(c, dict) for c in configs):
        problems["variants.config"] = 'Give each config as an object, e.g. {"tactic": "scarcity"}.'
    if problems:
        refuse(problems)
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
    if not isinstance(target_metric, str) or not METRIC.match(target_metric):
        problems["target_metric"] = ("Give the metric to judge by, 1 to 64 lowercase letters, "
                                     "digits, dots, colons, hyphens or underscores.")
    if min_sample_per_variant is None:
        min_sample_per_variant = settings.AB_TEST_MIN_SAMPLE_SIZE
    elif not is_int(min_sample_per_variant) or not 1 <= min_sample_per_variant <= 10**9:
        problems["min_sample_per_variant"] = "Give a whole number of subjects, at least 1."
    if not is_int(duration_days) or not 1 <= duration_days <= MAX_DURATION_DAYS:
        problems["duration_days"] = f"Give a whole number of days from 1 to {MAX_DURATION_DAYS}."
    if key is not None and (not isinstance(key, str) or not SLUG.match(key)):
        problems["key"] = "Give a key of 1 to 64 letters, digits, hyphens or underscores."
    if problems:
        refuse(problems)
    rows = _checked_variants(variants)
    chosen_key = key
    with transaction.atomic():
        for _attempt in range(KEY_ATTEMPTS):
            key = chosen_key or _free_key(org, slugify(name)[:64] or "experiment")
            taken = f"This tenant already has an experiment with the key '{key}'."
            if chosen_key and Experiment.objects.for_org(org).filter(key=key).exists():
                refuse({"key": taken})
            try:
                # A savepoint: a concurrent create can take the same key between the check
                # and the insert; the unique constraint catches it.
                with transaction.atomic():
                    experiment = Experiment.objects.create(
                        organization=org, name=name.strip(), key=key,
                        target_metric=target_metric,
                        min_sample_per_variant=min_sample_per_variant,
                        duration_days=duration_days,
                    )
                break
            except IntegrityError:
                if chosen_key:
                    refuse({"key": taken})
        else:
            refuse({"key": "Another experiment took this name's key just now; try again."})
        # One by one, in the given order: the ids fix the order of the weight ranges.
        for row in rows:
            Variant.objects.create(organization=org, experiment=experiment, **row)
        audit_event_record(org=org, actor=actor, action="experiment.create", target=experiment,
                           data={"key": key, "variants": {r["key"]: r["weight"] for r in rows},
                                 "target_metric": target_metric})
    return experiment


def _locked(org: Organization, experiment: Experiment) -> Experiment:
    owned(org, experiment)
    return Experiment.objects.for_org(org).select_for_update().get(pk=experiment.pk)


def status_move(org, experiment, *, to: str, verb: str, allowed_from: set[str], actor: Actor,
                **changes) -> Experiment:
    """Move the experiment to ``to`` under its row lock when its status is in
    ``allowed_from``, setting ``changes`` too, and audit it."""
    with transaction.atomic():
        locked = _locked(org, experiment)
        if locked.status not in allowed_from:
            refuse({"status": f"A {locked.get_status_display().lower()} experiment cannot be "
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
    return status_move(org, experiment, to=ExperimentStatus.RUNNING, verb="started",
                 allowed_from={ExperimentStatus.DRAFT}, actor=actor, started_at=timezone.now())


def experiment_stop(*, org: Organization, experiment: Experiment, actor: Actor) -> Experiment:
    """Stop a draft or running experiment: everyone gets control from now on, and every
    assignment and observation is kept. Raises ``NotFound`` for another tenant's experiment
    and ``ExperimentStatusRefused`` when it has already ended."""
    return status_move(org, experiment, to=ExperimentStatus.STOPPED, verb="stopped",
                 allowed_from={ExperimentStatus.DRAFT, ExperimentStatus.RUNNING}, actor=actor,
                 ended_at=timezone.now())


def experiment_complete(*, org: Organization, experiment: Experiment, actor: Actor) -> Experiment:
    """End a running experiment whose duration is over: everyone gets control, every
    assignment and observation is kept. Raises ``NotFound`` for another tenant's experiment
    and ``ExperimentStatusRefused`` unless it is running."""
    return status_move(org, experiment, to=ExperimentStatus.COMPLETED, verb="completed",
                           allowed_from={ExperimentStatus.RUNNING}, actor=actor,
                           ended_at=timezone.now())


# The kill-switch settings a manager may change while the experiment can still trip.
THRESHOLD_FIELDS = tuple(KILL_THRESHOLD_FIELDS.values())
MAX_THRESHOLD = 100.0  # a rise of 10,000 %: beyond it a switch is as good as off


def experiment_thresholds_update(
    *, org: Organization, experiment: Experiment, actor: Actor, **changes
) -> Experiment:
    """Change the kill-switch thresholds (``kill_error_rate_up`` …, each a relative rise
    above 0, e.g. 0.5 for +50 %) and ``kill_min_exposure`` (whole subjects, at least 1) of a
    draft or running experiment, under its lock, audited with the old and new values.

    Raises ``NotFound`` for another tenant's experiment, ``ExperimentInvalid`` naming the
    field for an unknown field or a value out of range, and ``ExperimentStatusRefused`` once
    the experiment has ended.
    """
    owned(org, experiment)
    problems = {}
    for field, value in changes.items():
        if field in THRESHOLD_FIELDS:
            if (not isinstance(value, int | float) or isinstance(value, bool)
                    or not 0 < value <= MAX_THRESHOLD):
                problems[field] = (f"Give the rise as a number above 0 and at most "
                                   f"{MAX_THRESHOLD:g} (0.5 is +50 %).")
        elif field == "kill_min_exposure":
            if not is_int(value) or not 1 <= value <= 10**9:
                problems[field] = "Give a whole number of subjects, at least 1."
        else:
            problems[field] = (f"Not a kill-switch setting; the settings are "
                               f"{', '.join((*THRESHOLD_FIELDS, 'kill_min_exposure'))}.")
    if problems:
        refuse(problems)
    with transaction.atomic():
        locked = _locked(org, experiment)
        if locked.status not in (ExperimentStatus.DRAFT, ExperimentStatus.RUNNING):
            refuse({"status": f"A {locked.get_status_display().lower()} experiment has no "
                              f"kill-switches to change."}, ExperimentStatusRefused)
        before = {field: getattr(locked, field) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        if changes:
            locked.save(update_fields=list(changes))
            audit_event_record(org=org, actor=actor, action="experiment.thresholds_update",
                               target=locked, data={"before": before, "after": changes})
    return locked


def variant_rollback(
    *, org: Organization, experiment: Experiment, variant: Variant, actor: Actor
) -> Variant:
    """Roll one variant back: its subjects get control from their next assignment on, nobody
    else moves. When only control is left the experiment is rolled back as a whole.

    Raises ``NotFound`` for another tenant's experiment or a variant of another experiment,
    ``VariantRollbackRefused`` for the control or a variant already rolled back, and
    ``ExperimentStatusRefused`` unless the experiment is running.
    """
    owned(org, experiment)
    if variant is None or variant.experiment_id != experiment.pk:
        raise NotFound("No such variant.")
    with transaction.atomic():
        locked = _locked(org, experiment)
        if locked.status != ExperimentStatus.RUNNING:
            refuse({"status": "Only a running experiment's variants are rolled back."},
                    ExperimentStatusRefused)
        variants = list(Variant.objects.for_org(org).filter(experiment=locked)
                        .select_for_update())
        target = next(v for v in variants if v.pk == variant.pk)
        if target.is_control:
            refuse({"variant": "The control cannot be rolled back; stop the experiment."},
                    VariantRollbackRefused)
        if target.is_rolled_back:
            refuse({"variant": "This variant is already rolled back."}, VariantRollbackRefused)
        target.rolled_back_at = timezone.now()
        target.save(update_fields=["rolled_back_at"])
        left = [v for v in variants if not v.is_control and not v.is_rolled_back]
        audit_event_record(org=org, actor=actor, action="variant.rollback", target=target,
                           data={"experiment_id": locked.pk, "variant": target.key})
        if not left:
            locked.status = ExperimentStatus.ROLLED_BACK
            locked.ended_at = target.rolled_back_at
            locked.save(update_fields=["status", "ended_at"])
            audit_event_record(org=org, actor=actor, action="experiment.rolled_back",
                               target=locked, data={"from": ExperimentStatus.RUNNING,
                                                    "to": ExperimentStatus.ROLLED_BACK})
    return target


