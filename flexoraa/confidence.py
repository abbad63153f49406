"""A model's calibrated confidence in words, for people who act on it.

A bare "100%" reads as certainty, and a rep stops checking. The bands follow the lead-message
model's held-out split (``train_nlu`` prints it; tests/agents/test_nlu_calibration.py holds
it): readings of 0.9 and more were right about 99 times in 100, from 0.7 about 83, from 0.5
about 62, and below 0.5 fewer than half. The number stays available in a tooltip, floored so
that it never rounds up into the next band nor to 100%.
"""

import math

# (lowest confidence, words), highest first.
BANDS = (
    (0.9, "very likely"),
    (0.7, "likely"),
    (0.5, "possibly"),
    (0.0, "unsure"),
)


def confidence_words(confidence: float | None) -> str:
    """"very likely", "likely", "possibly" or "unsure"; "" when there is no confidence."""
    if confidence is None or not math.isfinite(confidence):
        return ""
    for lowest, words in BANDS:
        if confidence >= lowest:
            return words
    return BANDS[-1][1]


def confidence_percent(confidence: float | None) -> str:
    """The number for those who want it: "87%", "over 99%" at the top, never "100%"."""
    if confidence is None or not math.isfinite(confidence):
        return ""
    if confidence >= 0.99:
        return "over 99%"
    return f"{math.floor(max(confidence, 0.0) * 100)}%"
