"""Experiments' use cases: one function per use case, keyword-only, one transaction."""

from experiments.services.assigning import observation_record, variant_for
from experiments.services.lifecycle import (
    experiment_create,
    experiment_start,
    experiment_stop,
    variant_rollback,
)

__all__ = [
    "experiment_create",
    "experiment_start",
    "experiment_stop",
    "observation_record",
    "variant_for",
    "variant_rollback",
]
