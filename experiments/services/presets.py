"""Ready-made experiments a tenant creates in one step."""

from dataclasses import dataclass

from django.db import transaction

from experiments.models import Experiment
from experiments.services.common import refuse
from experiments.services.lifecycle import experiment_create, experiment_start
from flexoraa.actors import Actor
from flexoraa.models import Organization


@dataclass(frozen=True)
class Preset:
    name: str
    target_metric: str
    variants: tuple[dict, ...]


# The agent reads each variant's "tactic" to pick how it persuades; "conversion" is what it
# records when a lead is qualified HOT or books a meeting.
PRESETS = {
    "psychology-tactics": Preset(
        name="Psychology tactics",
        target_metric="conversion",
        variants=(
            {"key": "control", "name": "Control", "is_control": True, "weight": 50,
             "config": {"tactic": "none"}},
            {"key": "scarcity-heavy", "name": "Scarcity-heavy", "is_control": False,
             "weight": 25, "config": {"tactic": "scarcity"}},
            {"key": "social-proof-heavy", "name": "Social-proof-heavy", "is_control": False,
             "weight": 25, "config": {"tactic": "social_proof"}},
        ),
    ),
}


def experiment_preset_create(
    *, org: Organization, preset: str, actor: Actor, start: bool = False
) -> Experiment:
    """Create the preset experiment ``preset`` (a key of ``PRESETS``) under the preset's key,
    and start it when ``start``, in one transaction.

    Raises ``ExperimentInvalid`` for an unknown preset or when the tenant already has an
    experiment with that key (field ``key``).
    """
    chosen = PRESETS.get(preset) if isinstance(preset, str) else None
    if chosen is None:
        refuse({"preset": f"Choose one of: {', '.join(sorted(PRESETS))}."})
    with transaction.atomic():
        experiment = experiment_create(
            org=org, name=chosen.name, key=preset, target_metric=chosen.target_metric,
            variants=[dict(v, config=dict(v["config"])) for v in chosen.variants], actor=actor,
        )
        if start:
            experiment = experiment_start(org=org, experiment=experiment, actor=actor)
    return experiment
