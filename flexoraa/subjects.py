"""Does a subject exist in a tenant: a small, explicit registry.

A lower app holds ids of a higher app's rows without a foreign key (experiments assign leads
by id, and sit below leads in the import order). The higher app registers, once in its
``AppConfig.ready()``, the check that an id names one of the tenant's rows; the lower app asks
``subject_exists`` before it stores the id. With no check registered for a kind (the lower app
used without the higher one) every id is taken.

No Django signals: a reader follows the call from ``experiments.services.variant_for`` to
here, and from here to the registered function.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flexoraa.models import Organization

SubjectCheck = Callable[["Organization | None", int], bool]

_checks: dict[str, SubjectCheck] = {}


def subject_exists_register(kind: str, check: SubjectCheck) -> None:
    """``check(org, subject_id)`` answers whether ``subject_id`` is one of ``org``'s subjects
    of this ``kind`` (``"lead"``). One check per kind: registering again replaces it, so a
    ``ready()`` that runs twice changes nothing."""
    _checks[kind] = check


def subject_exists(kind: str, org: "Organization | None", subject_id: int) -> bool:
    """Whether ``subject_id`` is one of ``org``'s subjects of ``kind``; True when no app
    registered a check for that kind. Another tenant's subject and a missing one both answer
    False, so a caller cannot tell them apart."""
    check = _checks.get(kind)
    if check is None:
        return True
    return bool(check(org, subject_id))
