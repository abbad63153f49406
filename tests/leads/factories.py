"""Factories for LeadOS tests: leads go through the real intake service."""

import itertools

from leads import services
from leads.models import Source
from tests.factories import SETUP_ACTOR

_numbers = itertools.count(1)


def next_phone() -> str:
    """A distinct valid Indian mobile number per call."""
    return f"+9198{next(_numbers):08d}"


def make_lead(org, *, source=Source.API, actor=SETUP_ACTOR, **values):
    if "phone" not in values and "email" not in values:
        values["phone"] = next_phone()
    return services.lead_intake(
        org=org, data=services.LeadInput(**values), source=source, actor=actor
    ).lead


def lost_reason(org, label=None):
    """One of the tenant's lost reasons (the default list, written on first use)."""
    reasons = services.lost_reason_choices(org=org)
    if label is None:
        return reasons[0]
    return next(reason for reason in reasons if reason.label == label)
