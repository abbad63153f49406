"""The experiments API: the seed's contract (create, stop, results, record, a lead's variant)
plus list, detail and start. Registered on flexoraa.api.router."""

import math
import re
from contextlib import contextmanager

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from experiments import selectors, services
from experiments.models import Experiment, Observation
from experiments.serializers import (
    MAX_SUBJECT_ID,
    ExperimentCreateSerializer,
    ExperimentResultsSerializer,
    ExperimentSerializer,
    ObservationInSerializer,
    ObservationRecordedSerializer,
    VariantAssignmentSerializer,
)
from flexoraa.api import MANAGING, TenantViewSet, router
from flexoraa.errors import FlexoraaError, NotFound

# The services' field names and the words of their messages, in the seed's terms. Each swap
# is a whole word or phrase, applied in order.
_CALLERS_TERMS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "variants.key": ("variants.id", (("a key", "an id"), ("keys", "ids"), ("key", "id"))),
    "variants.weight": ("variants.allocation", (
        ("a weight", "an allocation"), ("Weights", "Allocations"), ("weights", "allocations"),
        ("weight", "allocation"))),
    "variants.is_control": ("variants.isControl", ()),
    "target_metric": ("targetMetric", ()),
    "min_sample_per_variant": ("sampleSize", ()),
    "duration_days": ("duration", ()),
    "subject_id": ("leadId", ()),
    "idempotency_key": ("idempotencyKey", (("a key", "an idempotency key"),)),
    "observed_at": ("observedAt", ()),
}
_LEAD_ID = re.compile(r"[0-9]{1,19}")


def _swap_words(text: str, swaps) -> str:
    for old, new in swaps:
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return text


@contextmanager
def _in_callers_terms():
    """A service's error naming its fields as the caller named them (``variants.allocation``,
    not ``variants.weight``), in ``fields`` and in the message."""
    try:
        yield
    except FlexoraaError as exc:
        if not exc.fields:
            raise
        fields = {}
        for name, problems in exc.fields.items():
            callers_name, swaps = _CALLERS_TERMS.get(name, (name, ()))
            fields[callers_name] = [_swap_words(str(problem), swaps) for problem in problems]
        first = next(iter(fields))
        exc.fields = fields
        exc.message = f"{first}: {fields[first][0]}"
        raise


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or Infinity; a statistic that is not a number is not known.
    return value if value is None or math.isfinite(value) else None


def _pair(low: float | None, high: float | None) -> list[float] | None:
    if _finite(low) is None or _finite(high) is None:
        return None
    return [low, high]


def _variant_result(result, variant) -> dict:
    return {
        "id": result.key, "name": variant.name, "isControl": result.is_control,
        "n": result.n, "conversions": result.conversions, "rate": _finite(result.rate),
        "lift": _finite(result.lift), "liftCi": _pair(result.lift_ci_low, result.lift_ci_high),
        "relativeLift": _finite(result.relative_lift), "z": _finite(result.z),
        "pValue": _finite(result.p_value), "pValueHolm": _finite(result.p_value_holm),
        "mde": _finite(result.mde), "minSampleReached": result.min_sample_reached,
        "alwaysValidCi": _pair(result.always_valid_low, result.always_valid_high),
        "alwaysValidPValue": _finite(result.always_valid_p_value),
        "verdict": result.verdict, "fixedHorizonVerdict": result.fixed_horizon_verdict,
    }


def _results_body(experiment: Experiment, results) -> dict:
    variants = sorted(experiment.variants.all(), key=lambda v: v.pk)
    by_key = {v.key: v for v in variants}
    srm = results.srm
    if srm is not None:
        # The check leaves out arms of weight 0 (they get nobody by design), in variant order.
        weighted = [v.key for v in variants if v.weight > 0]
        srm = {
            "observed": dict(zip(weighted, srm.observed, strict=True)),
            "expected": dict(zip(weighted, (_finite(e) for e in srm.expected), strict=True)),
            "chi2": _finite(srm.chi2), "pValue": _finite(srm.p_value),
            "mismatch": srm.mismatch,
        }
    winner = results.winner
    return {
        "experimentId": experiment.pk, "status": experiment.status,
        "targetMetric": experiment.target_metric, "minSample": results.min_sample,
        "minSampleReached": results.min_sample_reached, "alpha": results.alpha,
        "verdictBasis": results.verdict_basis,
        "winner": winner.key if winner is not None else None, "srm": srm,
        "variants": [_variant_result(r, by_key[r.key])
                     for r in (results.control, *results.variants)],
    }


def _observation_body(observation: Observation, *, replayed: bool) -> dict:
    return {"replayed": replayed, "observation": {
        "id": observation.pk, "leadId": observation.subject_id,
        "variant": observation.variant.key, "metric": observation.metric,
        "value": observation.value, "observedAt": observation.observed_at,
        "idempotencyKey": observation.idempotency_key,
    }}


_ENDED = OpenApiResponse(description="The experiment has already ended (stopped, rolled back "
                                     "or completed); `fields.status` says so.")


@extend_schema_view(
    list=extend_schema(description="The tenant's experiments, newest first, with their "
                                   "variants; `?status=` filters."),
    retrieve=extend_schema(description="One experiment: its variants, status, dates, minimum "
                                       "sample and kill-switch thresholds."),
)
class ExperimentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """A/B experiments of reply strategies: create, start, stop, ask which variant a lead
    gets, record what happened, read the results. Managers and API keys only.

    This resource speaks the seed's contract, whose names are camelCase in requests,
    responses and error fields alike (``isControl``, ``targetMetric``, ``leadId`` …), unlike
    the snake_case of the platform's other resources. A variant's ``id`` is its key (a slug);
    the experiment's ``id`` is its number.
    """

    queryset = Experiment.objects.prefetch_related("variants").order_by("-created_at", "-id")
    serializer_class = ExperimentSerializer
    allowed_roles = MANAGING
    filterset_fields = ["status"]

    def get_serializer_class(self):
        return {"create_experiment": ExperimentCreateSerializer,
                "record": ObservationInSerializer}.get(self.action, ExperimentSerializer)

    def _answer(self, experiment: Experiment, *, status_code: int = status.HTTP_200_OK):
        # Read back through the tenant's scope, with the variants as the detail route shows.
        fresh = self.get_queryset().get(pk=experiment.pk)
        return Response(ExperimentSerializer(fresh).data, status=status_code)

    @extend_schema(
        operation_id="experiments_create",
        request=ExperimentCreateSerializer,
        responses={201: ExperimentSerializer},
        description="Create a draft experiment (start it with `/start/`). Errors name the "
                    "field as sent: `variants.isControl` (exactly one control), "
                    "`variants.allocation` (whole percents summing to 100, or none to split "
                    "evenly), `variants.id` (unique slugs), `variants` (two to twenty), "
                    "`targetMetric`, `sampleSize`, `duration`.",
    )
    @action(detail=False, methods=["post"], url_path="create", url_name="create",
            filterset_fields=None)
    def create_experiment(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        variants = [
            {"key": v["id"], "name": v["name"], "is_control": v["isControl"],
             "weight": v.get("allocation"), "config": v.get("config", {})}
            for v in data["variants"]
        ]
        with _in_callers_terms():
            experiment = services.experiment_create(
                org=self.organization, name=data["name"], variants=variants,
                target_metric=data["targetMetric"],
                min_sample_per_variant=data.get("sampleSize"), duration_days=data["duration"],
                actor=self.actor,
            )
        return self._answer(experiment, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={
        200: ExperimentSerializer,
        409: OpenApiResponse(description="Only a draft starts; `fields.status` says where "
                                         "it is."),
    })
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start a draft: from now on leads are assigned to its variants."""
        experiment = self.get_object()
        with _in_callers_terms():
            experiment = services.experiment_start(org=self.organization,
                                                   experiment=experiment, actor=self.actor)
        return self._answer(experiment)

    @extend_schema(request=None, responses={200: ExperimentSerializer, 409: _ENDED})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Stop a draft or running experiment: everyone gets control from now on; every
        assignment and observation is kept."""
        experiment = self.get_object()
        with _in_callers_terms():
            experiment = services.experiment_stop(org=self.organization,
                                                  experiment=experiment, actor=self.actor)
        return self._answer(experiment)

    @extend_schema(request=None, responses=ExperimentResultsSerializer)
    @action(detail=True, methods=["get"], filterset_fields=None)
    def results(self, request, pk=None):
        """Each variant against control: rates, lift with its fixed-horizon and always-valid
        intervals, z-test and Holm's p, minimum detectable effect, verdicts (none below the
        minimum sample), the sample-ratio check and the winner (none while the split is
        off)."""
        experiment = self.get_object()
        results = selectors.experiment_results(self.organization, experiment)
        return Response(ExperimentResultsSerializer(_results_body(experiment, results)).data)

    @extend_schema(
        request=ObservationInSerializer,
        responses={
            201: ObservationRecordedSerializer, 200: ObservationRecordedSerializer,
            409: OpenApiResponse(description="The idempotency key was used for a different "
                                             "observation."),
        },
    )
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        """Record one observation of a lead that holds a variant here (a conversion, an
        error, a response time …). 201 the first time; the same `idempotencyKey` again
        answers 200 with the first observation and `replayed: true`; the key used for a
        different observation is a 409. A lead without a variant here is a 400 naming
        `leadId`."""
        experiment = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _in_callers_terms():
            observation = services.observation_record(
                org=self.organization, experiment=experiment, subject_id=data["leadId"],
                metric=data["metric"], value=data["value"],
                idempotency_key=data["idempotencyKey"], observed_at=data.get("observedAt"),
            )
        return Response(
            ObservationRecordedSerializer(_observation_body(
                observation, replayed=observation.replayed)).data,
            status=status.HTTP_200_OK if observation.replayed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("leadId", int, OpenApiParameter.PATH,
                                     description="One of the tenant's leads.")],
        responses={200: VariantAssignmentSerializer,
                   404: OpenApiResponse(description="No such experiment, or no such lead "
                                                    "in your organization.")},
    )
    @action(detail=True, methods=["get"], url_path=r"variant/(?P<leadId>[^/.]+)",
            url_name="variant", filterset_fields=None)
    def variant(self, request, pk=None, leadId=None):
        """The variant this lead gets: the same every time (stored on first sight). Control
        while the experiment is not running or A/B testing is switched off."""
        experiment = self.get_object()
        if not _LEAD_ID.fullmatch(leadId or "") or not 0 < int(leadId) <= MAX_SUBJECT_ID:
            raise NotFound("No such lead.")
        lead_id = int(leadId)
        with _in_callers_terms():
            variant = services.variant_for(org=self.organization, experiment=experiment,
                                           subject_id=lead_id)
        body = {"experimentId": experiment.pk, "leadId": lead_id, "variant": {
            "id": variant.key, "name": variant.name, "isControl": variant.is_control,
            "config": variant.config,
        }}
        return Response(VariantAssignmentSerializer(body).data)


router.register("experiments", ExperimentViewSet, basename="experiment")
