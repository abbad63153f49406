"""Pure hash-chain rules for the audit log (no ORM), so they are unit-tested directly."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class ChainLink:
    id: int
    organization_id: int
    actor_user_id: int | None
    actor_api_key_id: int | None
    action: str
    target_type: str
    target_id: str
    data: dict
    created_at: datetime
    prev_hash: str
    hash: str
    actor_system: str = ""


def link_hash(
    *,
    prev_hash: str,
    organization_id: int,
    actor_user_id: int | None,
    actor_api_key_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    data: dict,
    created_at: datetime,
    actor_system: str = "",
) -> str:
    """SHA-256 over a canonical JSON of the event and the hash before it.

    The system actor's name joined the log later: it is hashed only when present, so events
    written before it (and events by a person or a key) keep the hash they were stored with.
    """
    fields = [
        prev_hash,
        organization_id,
        actor_user_id,
        actor_api_key_id,
        action,
        target_type,
        target_id,
        data,
        created_at.isoformat(timespec="microseconds"),
    ]
    if actor_system:
        fields.append({"actor_system": actor_system})
    canonical = json.dumps(
        fields,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


CONTENT_FIELDS = (
    "organization_id", "actor_user_id", "actor_api_key_id", "actor_system", "action",
    "target_type", "target_id", "data", "created_at",
)


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def first_break(links: Iterable[ChainLink]) -> ChainBreak | None:
    """The first link (in id order) whose stored hashes do not follow from its content."""
    expected_prev = GENESIS_HASH
    for link in links:
        if link.prev_hash != expected_prev:
            return ChainBreak(link.id, "its previous hash does not match the event before it")
        content = {name: getattr(link, name) for name in CONTENT_FIELDS}
        recomputed = link_hash(prev_hash=link.prev_hash, **content)
        if recomputed != link.hash:
            return ChainBreak(link.id, "its content no longer matches its hash")
        expected_prev = link.hash
    return None
