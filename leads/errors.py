"""Errors LeadOS raises; the API turns each into the one JSON error shape."""

from flexoraa.errors import Conflict, ValidationFailed


class InvalidContact(ValidationFailed):
    """A phone or email that cannot be a real address (400, with the field and the reason)."""

    code = "invalid_contact"


class StatusChangeRefused(Conflict):
    """A status the lead cannot move to from where it is (409)."""

    code = "status_change_refused"


class LeadClosed(Conflict):
    """The lead is won, lost, opted out or anonymized, so it cannot be worked (409)."""

    code = "lead_closed"


class CsvHeaderRefused(ValidationFailed):
    """The header row cannot be imported (unknown, duplicate or missing columns, not UTF-8,
    empty file). Raised before any row is imported."""

    code = "csv_header_refused"


class AtCapacity(Conflict):
    """The member already holds as many open leads as their capacity (409)."""

    code = "at_capacity"


class LeadTaken(Conflict):
    """Someone else holds the lead already (409)."""

    code = "lead_taken"
