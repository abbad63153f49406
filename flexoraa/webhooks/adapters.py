"""What a provider supplies to the one webhook inbox: how to verify a request, how to split a
body into events with their ids, and how to apply one stored event.

Everything else (reading the body within its limits, storing each event once, queueing,
processing under the row lock, retrying, giving up, redriving and replaying) is the core's,
in ``flexoraa.webhooks.services``, the same for every provider.
"""

from dataclasses import dataclass, field

from flexoraa.models import WebhookDelivery


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a body, as the adapter splits it. ``organization_id`` is the tenant when
    the adapter knows it at the door (the channel the body names), else None. An event
    ``acknowledge_only`` is counted in the answer but not stored (it names a channel no
    tenant has connected: storing it would only keep a stranger's data)."""

    event_id: str
    event_type: str
    payload: dict
    organization_id: int | None = None
    acknowledge_only: bool = False


@dataclass(frozen=True)
class ReceivedBody:
    """What the endpoint tells the adapter after storing: every event it split, and which of
    them were new (a re-delivery has none)."""

    events: list[WebhookEvent]
    new_event_ids: set[str] = field(default_factory=set)


class WebhookRefused(Exception):
    """The request is answered with ``status`` and nothing is stored."""

    def __init__(self, *, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


class DeliveryMalformed(ValueError):
    """The stored event cannot be applied and trying again will not help: the delivery is
    failed at once, kept with this error for a person to look at and replay."""


class DeliveryNotYet(Exception):
    """The event refers to something not stored yet (a status before its message's id): the
    delivery stays pending and is tried again after a growing wait."""


class DeliveryDuplicate(Exception):
    """What this event carries was stored meanwhile through another delivery: its work is
    rolled back and the delivery is processed with the outcome "duplicate"."""


class WebhookAdapter:
    """A provider's part of the inbox. Subclasses set ``provider`` (the name stored on each
    delivery, unique among adapters) and implement ``verify``, ``events`` and ``apply``."""

    provider: str = ""
    # Attempts after which a delivery that keeps failing for an unknown reason is failed.
    max_attempts: int = 8

    def verify(self, request, raw_body: bytes) -> None:
        """Raise ``WebhookRefused`` unless the request is signed by the provider."""
        raise NotImplementedError

    def events(self, request, body: dict) -> list[WebhookEvent]:
        """The body's events; raise ``WebhookRefused`` for a body this address does not take.
        An event without a usable id is left out (and logged) rather than refusing the rest."""
        raise NotImplementedError

    def apply(self, delivery: WebhookDelivery) -> str:
        """Act on one stored event, inside its transaction with its row locked. Returns the
        outcome as a word; may set ``delivery.organization_id`` once the tenant is known.
        Raises ``DeliveryMalformed``, ``DeliveryNotYet`` or ``DeliveryDuplicate``; anything
        else counts as a transient failure."""
        raise NotImplementedError

    def respond(self, received: ReceivedBody) -> dict:
        """The JSON the provider gets back with its 200."""
        return {"received": len(received.events), "new": len(received.new_event_ids)}

    def handle_get(self, request):
        """The answer to a GET (Meta's subscription check); None means GET is not allowed."""
        return None


_adapters: dict[str, WebhookAdapter] = {}


def adapter_register(adapter: WebhookAdapter) -> WebhookAdapter:
    """Make ``adapter`` the one for its provider (called from the app's ``ready()``)."""
    if not adapter.provider:
        raise ValueError(f"{type(adapter).__name__} needs a provider name.")
    existing = _adapters.get(adapter.provider)
    if existing is not None and type(existing) is not type(adapter):
        raise ValueError(f"Two webhook adapters for {adapter.provider!r}.")
    _adapters[adapter.provider] = adapter
    return adapter


def adapter_for(provider: str) -> WebhookAdapter | None:
    return _adapters.get(provider)


def providers() -> list[str]:
    return sorted(_adapters)
