"""A tenant's business hours: the stored shape and its parsing (pure, no ORM).

Stored as ``{"mon": ["09:00", "18:00"], "tue": [...], ...}``; a day left out is closed and an
empty mapping means always open. Hours are in the tenant's own time zone.
"""

from datetime import time

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
