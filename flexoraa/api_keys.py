"""Pure rules for API key material: format, generation and hashing (no ORM)."""

import hashlib
import secrets

KEY_SCHEME = "flx"
PREFIX_LENGTH = 8


def generate_key() -> tuple[str, str]:
    """A new key as ``(prefix, raw_key)``; the raw key is ``flx_<prefix>_<secret>``."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(30)}"


def split_key(raw_key: str) -> str | None:
    """The lookup prefix of a well-formed key, or None when the key is malformed."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != PREFIX_LENGTH:
        return None
    if not parts[2]:
        return None
    return parts[1]


def hash_key(raw_key: str) -> str:
    # Keys carry 240 bits of randomness, so a fast hash is enough: no dictionary to guess from.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def keys_match(raw_key: str, stored_hash: str) -> bool:
    return secrets.compare_digest(hash_key(raw_key), stored_hash)
