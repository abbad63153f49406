"""What the experiments' use cases share: refusing with the field at fault, and the checks of
ids and metric names."""

import re

from experiments.errors import ExperimentInvalid
from experiments.models import Experiment
from flexoraa.errors import NotFound, ValidationFailed
from flexoraa.models import Organization

MAX_SUBJECT_ID = 2**63 - 1
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
METRIC = re.compile(r"^[a-z0-9_.:-]{1,64}$")


def refuse(problems: dict[str, str], error=ExperimentInvalid):
    field, reason = next(iter(problems.items()))
    raise error(f"{field}: {reason}", fields={name: [text] for name, text in problems.items()})


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def owned(org: Organization, experiment: Experiment) -> None:
    # Another tenant's experiment reads exactly like one that does not exist.
    if org is None or experiment is None or experiment.organization_id != org.pk:
        raise NotFound("No such experiment.")


def subject_check(subject_id, error=ValidationFailed) -> None:
    if not is_int(subject_id) or not 0 < subject_id <= MAX_SUBJECT_ID:
        refuse({"subject_id": "Give the lead's id, a whole number above 0."}, error)


