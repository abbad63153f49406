"""Cells of every CSV the project writes, made safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return, which some
strip before looking) as a formula, so a lead's name or a package's name could make
Excel or Sheets fetch a URL or run a command when a manager opens the file. Such a cell is
written with a leading apostrophe, which spreadsheets show as text (OWASP's advice against CSV
injection). Every csv writer in the project writes its rows through ``safe_row``; a test
fails when a module writes CSV without it.
"""

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A value as CSV text that no spreadsheet runs as a formula (None is blank)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable) -> list[str]:
    return [safe_cell(value) for value in values]


def read_cell(text: str) -> str:
    """A cell as ``safe_cell`` wrote it, back as it was: a CSV the project wrote (the lead
    import's rejected rows) can be fixed and imported again without an apostrophe creeping
    into a phone number or a name."""
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_STARTS:
        return text[1:]
    return text
