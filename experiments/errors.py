"""Errors this app raises; the API turns each into the one JSON error shape. Each names the
field at fault in ``fields``."""

from flexoraa.errors import Conflict, ValidationFailed


class ExperimentInvalid(ValidationFailed):
    """An experiment that cannot be created as given: fewer than two variants, not exactly one
    control, weights not summing to 100, repeated keys … (400)."""

    code = "experiment_invalid"


class ExperimentStatusRefused(Conflict):
    """The experiment cannot move to that status from where it is (409)."""

    code = "experiment_status_refused"


class VariantRollbackRefused(Conflict):
    """The control, or a variant already rolled back, cannot be rolled back (409)."""

    code = "variant_rollback_refused"


class ObservationInvalid(ValidationFailed):
    """An observation that cannot be recorded: bad metric, value or key, or a subject that
    holds no assignment in the experiment (400)."""

    code = "observation_invalid"


class IdempotencyKeyReused(Conflict):
    """The key was used before for a different observation (409)."""

    code = "idempotency_key_reused"
