"""DRF serializers of the experiments API. Names are the seed's camelCase, in and out.

Requests are typed strictly: a JSON number where a number goes (never ``"5"`` or ``true``), a
boolean where a boolean goes, text where text goes. Whether the whole makes an experiment (one
control, allocations summing to 100, unique ids …) is the services' to say; the view puts
their answer in these names.
"""

import math
import unicodedata

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from experiments.models import Experiment, Variant
from experiments.services.lifecycle import MAX_VARIANTS
from experiments.stats import Verdict

MAX_SUBJECT_ID = 2**63 - 1
# Bidirectional overrides and isolates change how the text around them reads (a name that
# shows one thing in the admin and stores another); no experiment's name needs them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class WholeNumberField(serializers.IntegerField):
    """A JSON whole number. DRF's IntegerField also takes ``"5"``; ``true`` is not 1 here."""

    default_error_messages = {"invalid": "Give a whole number (not text or true/false)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if isinstance(data, float):
            if not data.is_integer():
                self.fail("invalid")
            data = int(data)
        return data


class NumberField(serializers.FloatField):
    """A finite JSON number. DRF's FloatField takes ``"1.5"`` and ``true``, and a whole
    number too large for a float would raise instead of answering."""

    default_error_messages = {"invalid": "Give a finite number (not text or true/false)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:
            self.fail("invalid")
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class BooleanOnlyField(serializers.BooleanField):
    """``true`` or ``false``; DRF's BooleanField also takes ``"yes"``, ``1`` and ``"off"``."""

    default_error_messages = {"invalid": "Give true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class TextField(serializers.CharField):
    """JSON text; DRF's CharField also turns numbers into text."""

    default_error_messages = {"invalid": "Give text."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def readable_name(value: str) -> str:
    """A name a person reads in the console: no control characters, no bidirectional
    overrides, and something visible besides invisible formatting."""
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in value):
        raise serializers.ValidationError(
            "Give a name without control characters or text-direction overrides.")
    if all(unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp") for c in value):
        raise serializers.ValidationError("Give a name with a visible character.")
    return value


# --- requests -------------------------------------------------------------------------------


class VariantInSerializer(serializers.Serializer):
    id = TextField(max_length=64, help_text="The variant's key: 1 to 64 letters, digits, "
                                            "hyphens or underscores, unique in the experiment.")
    name = TextField(max_length=120, validators=[readable_name])
    isControl = BooleanOnlyField(help_text="Exactly one variant is the control.")
    allocation = WholeNumberField(
        min_value=0, max_value=100, required=False,
        help_text="Whole percent of the traffic; give every variant one, summing to 100, or "
                  "none to split evenly (the remainder goes to control).")
    config = serializers.DictField(
        required=False, help_text='What the variant changes, e.g. {"tactic": "scarcity"}.')

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({
                    str(name): [f"Unknown field; a variant takes {', '.join(self.fields)}."]
                    for name in unknown
                })
        return super().to_internal_value(data)


class ExperimentCreateSerializer(serializers.Serializer):
    name = TextField(max_length=120, validators=[readable_name])
    variants = VariantInSerializer(
        many=True,
        help_text=f"At least two, at most {MAX_VARIANTS}; exactly one is the control.")
    targetMetric = TextField(
        max_length=64, help_text="The metric whose observations above 0 count as conversions: "
                                 "1 to 64 lowercase letters, digits, dots, colons, hyphens "
                                 "or underscores.")
    sampleSize = WholeNumberField(
        min_value=1, max_value=10**9, required=False,
        help_text="The minimum subjects per variant before a verdict (default "
                  "AB_TEST_MIN_SAMPLE_SIZE).")
    duration = WholeNumberField(min_value=1, max_value=365, default=14,
                                help_text="Days it runs before it completes on its own.")

    def to_internal_value(self, data):
        variants = data.get("variants") if isinstance(data, dict) else None
        # Before each variant is read: ten thousand of them must cost no more than two.
        if isinstance(variants, list) and len(variants) > MAX_VARIANTS:
            raise serializers.ValidationError(
                {"variants": [f"Give at most {MAX_VARIANTS} variants."]})
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(flat_errors(exc.detail)) from None


class ObservationInSerializer(serializers.Serializer):
    leadId = WholeNumberField(min_value=1, max_value=MAX_SUBJECT_ID,
                              help_text="A lead that holds a variant of this experiment.")
    metric = TextField(max_length=64, help_text="1 to 64 lowercase letters, digits, dots, "
                                                "colons, hyphens or underscores.")
    value = NumberField(help_text="Above 0 on the target metric counts as a conversion.")
    idempotencyKey = TextField(max_length=255, help_text="Unique per observation; the same key "
                                                         "again records nothing more.")
    observedAt = serializers.DateTimeField(required=False, help_text="Default: now.")


def flat_errors(detail) -> dict[str, list[str]]:
    """DRF's nested errors (per variant, by index) as ``{"variants.allocation": [messages]}``:
    the flat field names the one error shape documents, each message saying which variant
    (counted from 1) it is about."""
    flat: dict[str, list[str]] = {}

    def walk(node, names: tuple[str, ...], position: int | None):
        if isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, int):  # a list's item, by index
                    walk(child, names, key + 1)
                elif key == "non_field_errors":
                    walk(child, names, position)
                else:
                    walk(child, (*names, str(key)), position)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, names, index + 1 if isinstance(child, dict | list) else position)
        else:
            prefix = f"Variant {position}: " if position is not None else ""
            flat.setdefault(".".join(names) or "non_field_errors", []).append(f"{prefix}{node}")

    walk(detail, (), None)
    return flat


# --- responses ------------------------------------------------------------------------------


class ExperimentVariantSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="key", help_text="The variant's key.")
    isControl = serializers.BooleanField(source="is_control")
    allocation = serializers.IntegerField(source="weight", help_text="Whole percent.")
    rolledBackAt = serializers.DateTimeField(source="rolled_back_at", allow_null=True)

    class Meta:
        model = Variant
        fields = ["id", "name", "isControl", "allocation", "config", "rolledBackAt"]
        read_only_fields = fields


class KillSwitchThresholdsSerializer(serializers.Serializer):
    """The relative rise over control that rolls a variant back, judged once both arms have
    ``minExposure`` subjects."""

    errorRateUp = serializers.FloatField(source="kill_error_rate_up")
    responseTimeUp = serializers.FloatField(source="kill_response_time_up")
    hallucinationRateUp = serializers.FloatField(source="kill_hallucination_rate_up")
    objectionRateUp = serializers.FloatField(source="kill_objection_rate_up")
    minExposure = serializers.IntegerField(source="kill_min_exposure")


class ExperimentSerializer(serializers.ModelSerializer):
    targetMetric = serializers.CharField(source="target_metric")
    sampleSize = serializers.IntegerField(source="min_sample_per_variant",
                                          help_text="Minimum subjects per variant.")
    durationDays = serializers.IntegerField(source="duration_days")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    variants = ExperimentVariantSerializer(many=True)
    killSwitch = KillSwitchThresholdsSerializer(source="*")

    class Meta:
        model = Experiment
        fields = ["id", "key", "name", "status", "targetMetric", "sampleSize", "durationDays",
                  "startedAt", "endedAt", "createdAt", "variants", "killSwitch"]
        read_only_fields = fields


class AssignedVariantSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The variant's key.")
    name = serializers.CharField()
    isControl = serializers.BooleanField()
    config = serializers.DictField()


class VariantAssignmentSerializer(serializers.Serializer):
    experimentId = serializers.IntegerField()
    leadId = serializers.IntegerField()
    variant = AssignedVariantSerializer()


class ObservationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    leadId = serializers.IntegerField()
    variant = serializers.CharField(help_text="The key of the variant the lead held.")
    metric = serializers.CharField()
    value = serializers.FloatField()
    observedAt = serializers.DateTimeField()
    idempotencyKey = serializers.CharField()


class ObservationRecordedSerializer(serializers.Serializer):
    replayed = serializers.BooleanField(
        help_text="True when the key was recorded before: nothing new was recorded, and the "
                  "first observation is returned.")
    observation = ObservationSerializer()


@extend_schema_field({"oneOf": [{"type": "string", "enum": [v.value for v in Verdict]},
                               {"enum": [None]}]})
class VerdictField(serializers.CharField):
    """A verdict, or null. Its choices are described in place, not as a shared component:
    other resources already name different choice sets "verdict"."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)


def _interval(**kwargs):
    return serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2,
                                 allow_null=True, **kwargs)


class VariantResultSerializer(serializers.Serializer):
    """One variant against control. The comparisons are null for control itself and while
    either arm has no subjects; the verdicts are null below the minimum sample."""

    id = serializers.CharField(help_text="The variant's key.")
    name = serializers.CharField()
    isControl = serializers.BooleanField()
    n = serializers.IntegerField(help_text="Subjects assigned.")
    conversions = serializers.IntegerField(help_text="Of them, subjects who converted.")
    rate = serializers.FloatField(allow_null=True)
    lift = serializers.FloatField(allow_null=True, help_text="Rate minus control's rate.")
    liftCi = _interval(help_text="[low, high]: the fixed-horizon confidence interval of the "
                                 "lift (Newcombe).")
    relativeLift = serializers.FloatField(allow_null=True)
    z = serializers.FloatField(allow_null=True)
    pValue = serializers.FloatField(allow_null=True)
    pValueHolm = serializers.FloatField(allow_null=True, help_text="Holm-adjusted over the "
                                                                   "variants.")
    mde = serializers.FloatField(allow_null=True, help_text="The smallest lift these n detect.")
    minSampleReached = serializers.BooleanField()
    alwaysValidCi = _interval(help_text="[low, high]: the always-valid interval of the lift, "
                                        "safe to look at every day.")
    alwaysValidPValue = serializers.FloatField(allow_null=True)
    verdict = VerdictField(help_text="better, worse or no_difference, on the interval named "
                                     "by verdictBasis.")
    fixedHorizonVerdict = VerdictField(
        help_text="What the Holm z-test alone says, shown beside the verdict.")


class SampleRatioSerializer(serializers.Serializer):
    observed = serializers.DictField(child=serializers.IntegerField(),
                                     help_text="Subjects per variant id.")
    expected = serializers.DictField(child=serializers.FloatField(),
                                     help_text="Subjects per variant id the allocations give.")
    chi2 = serializers.FloatField()
    pValue = serializers.FloatField()
    mismatch = serializers.BooleanField(help_text="The split is off (p below 0.001): no "
                                                  "winner while it stands.")


class ExperimentResultsSerializer(serializers.Serializer):
    experimentId = serializers.IntegerField()
    status = serializers.CharField()
    targetMetric = serializers.CharField()
    minSample = serializers.IntegerField()
    minSampleReached = serializers.BooleanField()
    alpha = serializers.FloatField()
    verdictBasis = serializers.CharField(help_text="The interval the verdicts rest on.")
    winner = serializers.CharField(allow_null=True, help_text="The winning variant's id.")
    srm = SampleRatioSerializer(allow_null=True, help_text="The sample-ratio check; null when "
                                                           "it cannot be made.")
    variants = VariantResultSerializer(many=True, help_text="Control first.")
