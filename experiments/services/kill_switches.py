"""The job that protects leads from a bad variant, and the end of an experiment's run.

Every 5 minutes ``kill_switches_check`` looks at each running experiment. One past its
duration completes. Otherwise each live variant is judged against control on the four
guard-rail metrics (``experiments.guardrails``); the first switch that trips rolls the variant
back (the whole experiment when no variant is left), keeps the numbers in a
``KillSwitchTrip``, audits it and emails the managers once the transaction has committed.

The guard-rail numbers come from a fixed number of grouped queries over all running
experiments, whatever their count: subjects per variant, subjects with each event per
variant, and the response times' count, mean and spread per variant.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, StdDev
from django.utils import timezone

from experiments import guardrails
from experiments.errors import ExperimentStatusRefused, VariantRollbackRefused
from experiments.models import (
    KILL_THRESHOLD_FIELDS,
    Assignment,
    Experiment,
    ExperimentStatus,
    KillSwitchMetric,
    KillSwitchTrip,
    Observation,
    Variant,
)
from experiments.services.common import owned
from experiments.services.lifecycle import experiment_complete, variant_rollback
from flexoraa.actors import Actor
from flexoraa.models import Organization
from flexoraa.notifications import email_managers
from flexoraa.services import audit_event_record

logger = logging.getLogger(__name__)

KILL_SWITCH_ACTOR = Actor.system("job:experiments.kill_switches_check")

RATE_METRICS = (KillSwitchMetric.ERROR_RATE, KillSwitchMetric.HALLUCINATION_RATE,
                KillSwitchMetric.OBJECTION_RATE)


@dataclass(frozen=True)
class ArmGuardrails:
    """What the switches read of one variant."""

    exposure: int  # subjects assigned
    events: dict[str, int]  # rate metric → subjects with an observation of it above 0
    response_time: guardrails.MeanSummary


def _no_times() -> guardrails.MeanSummary:
    return guardrails.MeanSummary(n=0, mean=0.0, std=0.0)


def guardrail_numbers(experiment_ids: list[int]) -> dict[int, ArmGuardrails]:
    """``{variant id: ArmGuardrails}`` for every variant of these experiments, in three
    grouped queries."""
    exposures = dict(
        Assignment.objects.filter(experiment_id__in=experiment_ids)
        .values("variant_id").annotate(n=Count("id")).order_by()
        .values_list("variant_id", "n")
    )
    events: dict[int, dict[str, int]] = {}
    rows = (Observation.objects
            .filter(experiment_id__in=experiment_ids, metric__in=RATE_METRICS, value__gt=0)
            .values("variant_id", "metric")
            .annotate(subjects=Count("subject_id", distinct=True)).order_by())
    for row in rows:
        events.setdefault(row["variant_id"], {})[row["metric"]] = row["subjects"]
    times = {
        row["variant_id"]: guardrails.MeanSummary(
            n=row["n"], mean=float(row["mean"] or 0.0),
            std=float(row["std"] or 0.0) if row["n"] >= 2 else 0.0)
        for row in (Observation.objects
                    .filter(experiment_id__in=experiment_ids,
                            metric=KillSwitchMetric.RESPONSE_TIME)
                    .values("variant_id")
                    .annotate(n=Count("id"), mean=Avg("value"), std=StdDev("value", sample=True))
                    .order_by())
    }
    variant_ids = Variant.objects.filter(experiment_id__in=experiment_ids).values_list(
        "pk", flat=True)
    return {
        pk: ArmGuardrails(exposure=exposures.get(pk, 0), events=events.get(pk, {}),
                          response_time=times.get(pk, _no_times()))
        for pk in variant_ids
    }


def variant_judge(experiment: Experiment, control: ArmGuardrails,
                  variant: ArmGuardrails) -> tuple[str, guardrails.Judgement] | None:
    """The first switch this variant trips against control, as ``(metric, judgement)``;
    None while every switch is quiet."""
    for metric, field in KILL_THRESHOLD_FIELDS.items():
        threshold = getattr(experiment, field)
        if metric == KillSwitchMetric.RESPONSE_TIME:
            judgement = guardrails.mean_rise_judge(
                control=control.response_time, variant=variant.response_time,
                control_exposure=control.exposure, variant_exposure=variant.exposure,
                threshold=threshold, min_exposure=experiment.kill_min_exposure,
            )
        else:
            judgement = guardrails.rate_rise_judge(
                control=guardrails.RateSummary(n=control.exposure,
                                               events=control.events.get(metric, 0)),
                variant=guardrails.RateSummary(n=variant.exposure,
                                               events=variant.events.get(metric, 0)),
                threshold=threshold, min_exposure=experiment.kill_min_exposure,
            )
        if judgement.tripped:
            return metric, judgement
    return None


def kill_switch_trip(
    *, org: Organization, experiment: Experiment, variant: Variant, metric: str,
    judgement: guardrails.Judgement, control_n: int, variant_n: int, actor: Actor,
    now: datetime | None = None,
) -> KillSwitchTrip:
    """Roll the variant back because a switch tripped, keep the numbers, audit it and email
    the managers after commit.

    Raises what ``variant_rollback`` raises: ``NotFound``, ``VariantRollbackRefused`` (the
    control, or a variant already rolled back — by a manager or a concurrent run of the job)
    and ``ExperimentStatusRefused`` (the experiment is no longer running).
    """
    owned(org, experiment)
    now = now or timezone.now()
    threshold = getattr(experiment, KILL_THRESHOLD_FIELDS[metric])
    with transaction.atomic():
        variant_rollback(org=org, experiment=experiment, variant=variant, actor=actor)
        experiment.refresh_from_db(fields=["status", "ended_at"])
        trip = KillSwitchTrip.objects.create(
            organization=org, experiment=experiment, variant=variant, metric=metric,
            threshold=threshold, control_value=judgement.control_value or 0.0,
            variant_value=judgement.variant_value or 0.0, control_n=control_n,
            variant_n=variant_n, p_value=judgement.p_value if judgement.p_value is not None
            else 1.0,
            experiment_rolled_back=experiment.status == ExperimentStatus.ROLLED_BACK,
            tripped_at=now,
        )
        audit_event_record(
            org=org, actor=actor, action="experiment.kill_switch_tripped", target=trip,
            data={"experiment_id": experiment.pk, "variant": variant.key, "metric": metric,
                  "threshold": threshold, "control_value": trip.control_value,
                  "variant_value": trip.variant_value, "control_n": control_n,
                  "variant_n": variant_n, "p_value": trip.p_value,
                  "experiment_rolled_back": trip.experiment_rolled_back},
        )
        transaction.on_commit(lambda: _tell_managers(org, experiment, variant, trip,
                                                     judgement.reason))
    return trip


def _value_text(metric: str, value: float) -> str:
    if metric == KillSwitchMetric.RESPONSE_TIME:
        return f"{value:,.0f} ms on average"
    return f"{value:.1%}"


def _tell_managers(org, experiment, variant, trip: KillSwitchTrip, reason: str) -> None:
    label = KillSwitchMetric(trip.metric).label.lower()
    what = ("No variant is left, so the whole experiment is rolled back: every lead gets "
            "control." if trip.experiment_rolled_back else
            "Its leads get control from their next message; the other variants go on.")
    body = (
        f"The {label} kill-switch tripped in the experiment \"{experiment.name}\" and rolled "
        f"back the variant \"{variant.name}\".\n\n"
        f"{KillSwitchMetric(trip.metric).label}: {_value_text(trip.metric, trip.variant_value)} "
        f"in \"{variant.name}\" ({trip.variant_n:,} leads) against "
        f"{_value_text(trip.metric, trip.control_value)} in control ({trip.control_n:,} leads).\n"
        f"It trips above a rise of {trip.threshold:.0%}; the one-sided p-value that the rise "
        f"is above it is {trip.p_value:.2g}.\n{reason}\n\n{what}\n\n"
        f"Results: {settings.SITE_URL.rstrip('/')}/experiments/{experiment.pk}/\n"
    )
    try:
        email_managers(org, subject=f"Kill-switch tripped: {experiment.name} / {variant.name}",
                       body=body)
    except Exception:
        # The roll-back is committed and shown on the results page; a mail outage must not
        # turn into a failed job that trips again.
        logger.exception("kill-switch email failed",
                         extra={"organization_id": org.pk, "kill_switch_trip_id": trip.pk})


def kill_switches_check(*, now: datetime | None = None,
                        actor: Actor = KILL_SWITCH_ACTOR) -> dict:
    """Complete the running experiments past their duration, then judge every live variant
    of the others against control; roll back each one that trips. Safe to run twice at once:
    a variant rolled back by the other run is refused under its experiment's lock and
    skipped. Returns counts for the job log."""
    now = now or timezone.now()
    running = list(Experiment.objects.filter(status=ExperimentStatus.RUNNING)
                   .select_related("organization").prefetch_related("variants"))
    completed, judging = 0, []
    for experiment in running:
        if experiment.started_at and now >= experiment.started_at + timedelta(
                days=experiment.duration_days):
            try:
                experiment_complete(org=experiment.organization, experiment=experiment,
                                    actor=actor)
                completed += 1
            except ExperimentStatusRefused:
                pass  # a manager or a concurrent run ended it first
        else:
            judging.append(experiment)
    numbers = guardrail_numbers([e.pk for e in judging]) if judging else {}
    tripped = judged = failed = 0
    for experiment in judging:
        variants = list(experiment.variants.all())
        control = next(v for v in variants if v.is_control)
        for variant in variants:
            if variant.is_control or variant.is_rolled_back:
                continue
            judged += 1
            found = variant_judge(experiment, numbers[control.pk], numbers[variant.pk])
            if found is None:
                continue
            metric, judgement = found
            try:
                kill_switch_trip(
                    org=experiment.organization, experiment=experiment, variant=variant,
                    metric=metric, judgement=judgement,
                    control_n=numbers[control.pk].exposure,
                    variant_n=numbers[variant.pk].exposure, actor=actor, now=now,
                )
                tripped += 1
            except (VariantRollbackRefused, ExperimentStatusRefused):
                continue  # rolled back or ended meanwhile
            except Exception:
                # One experiment's failure must not leave every other tenant's variants
                # unguarded; the error is logged with its ids and counted in the job's run.
                failed += 1
                logger.exception("kill-switch trip failed",
                                 extra={"experiment_id": experiment.pk, "variant_id": variant.pk})
    return {"running": len(running), "completed": completed, "judged": judged,
            "tripped": tripped, "failed": failed}
