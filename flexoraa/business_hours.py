"""A tenant's business hours: the stored shape and its parsing (pure, no ORM).

Stored as ``{"mon": ["09:00", "18:00"], "tue": [...], ...}``; a day left out is closed and an
empty mapping means always open. Hours are in the tenant's own time zone.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_time(text, day: str) -> time:
    if not isinstance(text, str):
        raise ValueError(f"{day}: times are strings like \"09:00\".")
    try:
        hours, minutes = text.split(":")
        parsed = time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"{day}: '{text}' is not a time like \"09:00\".") from exc
    return parsed


def parse_business_hours(value) -> dict[int, tuple[time, time]]:
    """Weekday (Monday = 0) to (opens, closes). Raises ValueError saying what is wrong."""
    if not isinstance(value, dict):
        raise ValueError('Business hours are a mapping like {"mon": ["09:00", "18:00"]}.')
    unknown = sorted(set(value) - set(DAYS))
    if unknown:
        raise ValueError(f"Unknown day(s) {', '.join(unknown)}; use {', '.join(DAYS)}.")
    hours = {}
    for day, span in value.items():
        if not isinstance(span, list | tuple) or len(span) != 2:
            raise ValueError(f'{day}: give an opening and a closing time, like ["09:00", "18:00"].')
        opens, closes = (_parse_time(text, day) for text in span)
        if opens >= closes:
            raise ValueError(
                f"{day}: the closing time {span[1]} is not after the opening time {span[0]}."
            )
        hours[DAYS.index(day)] = (opens, closes)
    return hours


def add_business_time(start: datetime, duration: timedelta, hours: dict, tz: ZoneInfo) -> datetime:
    """The moment ``duration`` of open time has passed after ``start``.

    ``hours`` is the parsed mapping of ``parse_business_hours``; empty means always open. Time
    outside the hours does not count, so a 5-minute target set at 17:58 on a Friday ends at
    09:03 on Monday. Returns an aware UTC datetime.
    """
    start = start.astimezone(UTC)
    if not hours:
        return start + duration
    remaining = duration
    cursor = start
    # A week always holds an open day (hours is not empty), so each lap makes progress.
    for _ in range(366 * 2):
        local_day = cursor.astimezone(tz).date()
        span = hours.get(local_day.weekday())
        if span is not None:
            # Differences are taken in UTC so a DST change inside the day is counted right.
            opens = datetime.combine(local_day, span[0], tzinfo=tz).astimezone(UTC)
            closes = datetime.combine(local_day, span[1], tzinfo=tz).astimezone(UTC)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        next_day = datetime.combine(local_day + timedelta(days=1), time(0, 0), tzinfo=tz)
        cursor = next_day.astimezone(UTC)
    raise ValueError("Business hours leave no open time to count the duration in.")
