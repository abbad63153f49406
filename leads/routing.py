"""Weighted round-robin over SDRs (pure, no ORM).

Weighted fair queueing: each SDR's next lead has a virtual finish time, ``max(their last
finish, the pool's clock) + 1 / capacity``; the earliest finish wins. Leads therefore spread in
proportion to capacity, and an SDR back from being away starts at the pool's clock rather
than collecting a burst of leads for the time they were gone.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    membership_id: int
    capacity: int
    open_leads: int
    is_available: bool = True
    last_finish: float = 0.0

    @property
    def eligible(self) -> bool:
        return self.is_available and self.capacity > 0 and self.open_leads < self.capacity


@dataclass(frozen=True)
class Pick:
    membership_id: int
    finish: float  # the winner's new finish time
    clock: float  # the pool's new clock


def pick(candidates: list[Candidate], *, clock: float, exclude: frozenset[int] = frozenset()):
    """The next SDR, or None when nobody is available and under capacity."""
    best = None
    earliest_start = None
    for candidate in candidates:
        if not candidate.eligible or candidate.membership_id in exclude:
            continue
        start = max(candidate.last_finish, clock)
        earliest_start = start if earliest_start is None else min(earliest_start, start)
        key = (start + 1 / candidate.capacity, candidate.membership_id)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    finish, membership_id = best
    # The clock is the earliest start among those waiting, so an SDR who is waiting is never
    # pushed back by it; only one returning from away (finish behind the clock) catches up.
    return Pick(membership_id=membership_id, finish=finish, clock=earliest_start)
