"""Deterministic, weighted assignment of subjects to variants. Pure: no ORM.

A subject's bucket (0..9999) comes from a SHA-256 of the experiment key and the subject id, so
every process, on every machine and after every restart, computes the same one (Python's
``hash()`` is salted per process). The variants own consecutive ranges of buckets in their
creation order, sized by weight (1 % = 100 buckets). Rolling a variant back keeps its range
and sends that range to control, so no other subject's variant moves.
"""

import hashlib
from collections.abc import Iterable, Sequence

BUCKETS = 10_000
TOTAL_WEIGHT = 100
_BUCKETS_PER_WEIGHT = BUCKETS // TOTAL_WEIGHT


def bucket(experiment_key: str, subject_id: int) -> int:
    """The subject's bucket in 0..9999 for this experiment."""
    digest = hashlib.sha256(f"{experiment_key}:{subject_id}".encode()).digest()
    # 64 bits reduced modulo 10,000: the bias is below 1e-15 per bucket.
    return int.from_bytes(digest[:8], "big") % BUCKETS


def variant_for_bucket(bucket: int, weights: Sequence[tuple[str, int]]) -> str:
    """The key of the variant whose range holds ``bucket``; ``weights`` are ``(key, weight)``
    in their fixed order and sum to 100. Raises ``ValueError`` otherwise."""
    if not 0 <= bucket < BUCKETS:
        raise ValueError(f"bucket must be in 0..{BUCKETS - 1}, not {bucket}")
    if sum(weight for _, weight in weights) != TOTAL_WEIGHT:
        raise ValueError(f"weights must sum to {TOTAL_WEIGHT}")
    upper = 0
    for key, weight in weights:
        upper += weight * _BUCKETS_PER_WEIGHT
        if bucket < upper:
            return key
    raise AssertionError("unreachable: the ranges cover every bucket")


def variant_key_for(
    *, experiment_key: str, subject_id: int, weights: Sequence[tuple[str, int]],
    rolled_back: Iterable[str] = (), control: str,
) -> str:
    """The key a subject gets now: its range's variant, or control when that variant has been
    rolled back."""
    key = variant_for_bucket(bucket(experiment_key, subject_id), weights)
    return control if key in set(rolled_back) else key


def even_weights(count: int, *, control_index: int = 0) -> list[int]:
    """100 split over ``count`` variants, the control taking the remainder."""
    if not 0 <= control_index < count:
        raise ValueError("control_index must point at one of the variants")
    share, remainder = divmod(TOTAL_WEIGHT, count)
    weights = [share] * count
    weights[control_index] += remainder
    return weights
