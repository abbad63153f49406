"""Experiments' use cases: one function per use case, keyword-only, one transaction."""

from experiments.services.assigning import observation_record, variant_for
from experiments.services.kill_switches import kill_switch_trip, kill_switches_check
from experiments.services.lifecycle import (
    experiment_complete,
    experiment_create,
    experiment_start,
    experiment_stop,
    experiment_thresholds_update,
    variant_rollback,
)
from experiments.services.presets import PRESETS, experiment_preset_create

__all__ = [
    "PRESETS",
    "experiment_complete",
    "experiment_create",
    "experiment_preset_create",
    "experiment_start",
    "experiment_stop",
    "experiment_thresholds_update",
    "kill_switch_trip",
    "kill_switches_check",
    "observation_record",
    "variant_for",
    "variant_rollback",
]
