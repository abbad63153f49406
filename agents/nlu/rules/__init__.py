"""The NLU's rule readers: what a lead's message says about its budget, its timeline and who
decides, each with the lead's own words for it.

They are pure: no ORM and no model, only patterns and word tables over the text, so they are
unit-tested without a database and any change to them is a new model version (``model.py``
hashes this package).
"""

from agents.nlu.rules.authority import AuthorityReading, read_authority
from agents.nlu.rules.budget import DEFAULT_CURRENCY, Budget, extract_budget
from agents.nlu.rules.timeline import TimelineReading, read_timeline

__all__ = [
    "DEFAULT_CURRENCY", "AuthorityReading", "Budget", "TimelineReading", "extract_budget",
    "read_authority", "read_timeline",
]
