"""Who hears that a tenant may have room for more work: a small, explicit registry.

The core changes members (availability, capacity, role) but may not import the apps that
hand out work; an app that keeps work waiting for room (LeadOS's unassigned queue) registers
a listener here once, in its ``AppConfig.ready()``, and the core's services call
``capacity_freed_after_commit`` where room may have appeared. Listeners run after the
transaction commits (never for a rolled-back change) and take the organization id only.

No Django signals: a reader follows the call from ``membership_update`` to here, and from
here to the registered functions.
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

CapacityListener = Callable[[int], None]

_listeners: list[CapacityListener] = []


def capacity_listener_register(listener: CapacityListener) -> None:
    """Call ``listener(org_id)`` after each commit that may have given a tenant room.
    Registering the same function again changes nothing (``ready()`` may run twice)."""
    if listener not in _listeners:
        _listeners.append(listener)


def capacity_listeners() -> list[CapacityListener]:
    return list(_listeners)


def _notify(org_id: int) -> None:
    for listener in list(_listeners):
        try:
            listener(org_id)
        except Exception:
            # The change is committed already; one listener's failure must not undo the
            # others or surface as a failed request. Periodic backstops pick up what it missed.
            logger.exception("capacity listener failed",
                             extra={"organization_id": org_id, "listener": repr(listener)})


def capacity_freed_after_commit(org_id: int) -> None:
    """Tell every listener, once the current transaction commits, that ``org_id`` may have
    room now (a member became available, got more capacity or became an SDR)."""
    if _listeners:
        transaction.on_commit(lambda: _notify(org_id))
