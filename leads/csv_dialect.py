"""How a CSV file of leads is written, read from the file itself (pure, no ORM): which
character separates its fields, and where its quotes open and close, so the import can say
"line 3 opens a quote that is never closed" instead of a cell count.
"""

import csv
import re
from collections.abc import Callable, Iterator

QUOTE = '"'
# Spreadsheets set to a European or some Asian locale save "CSV" with semicolons; a few tools
# export tabs.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def _key(title: str) -> str:
    return re.sub(r"[\s-]+", "_", title.strip().lower())


def header_delimiter(line: str, known_columns: tuple[str, ...]) -> str:
    """The delimiter that splits the header ``line`` into the most known column names; a
    comma unless another one names more (a one-column header stays comma-separated)."""
    def known(delimiter: str) -> int:
        try:
            titles = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            return 0
        return sum(_key(title) in known_columns for title in titles)

    best = ","
    for delimiter in DELIMITERS:
        if known(delimiter) > known(best):
            best = delimiter
    return best


class QuoteTracker:
    """Follows the csv module's reading of quotes (a quote opens a quoted field only at the
    start of a field; inside one, two quotes are a quote; a line break inside one is part of
    the cell), line by line, holding only where the current quote opened.

    ``lines`` wraps the lines the csv reader reads; after each record, ``record_done()`` says
    on which line a quote opened that ran across a line break (None when none did), and
    ``open_since`` is the line of a quote still open."""

    def __init__(self, delimiter: str = ","):
        self.delimiter = delimiter
        self.line = 0  # the physical line last handed to the reader
        self.open_since: int | None = None
        self.spanning_since: int | None = None  # this record's first quote across a break

    def lines(self, source: Iterator[str]) -> Iterator[str]:
        for line in source:
            self.line += 1
            self._follow(line)
            yield line

    def record_done(self) -> int | None:
        spanning = self.spanning_since
        self.spanning_since = None
        return spanning

    def reset(self) -> None:
        """The reader gave up on a record (csv.Error) and starts afresh on the next line."""
        self.open_since = self.spanning_since = None

    def _follow(self, line: str) -> None:
        if self.open_since is None and QUOTE not in line:
            return
        position = 0
        while True:
            found = line.find(QUOTE, position)
            if self.open_since is not None:
                if found < 0:
                    if self.spanning_since is None:
                        self.spanning_since = self.open_since
                    return
                if line.startswith(QUOTE * 2, found):
                    position = found + 2  # a quote written twice inside a quoted cell
                    continue
                self.open_since = None
                position = found + 1
                continue
            if found < 0:
                return
            if found == 0 or line[found - 1] == self.delimiter:
                self.open_since = self.line
            position = found + 1


def unclosed_quote_reason(*, quote_line: int, first_line: int, last_line: int,
                          limit_reached: bool) -> str:
    """Why the rows from ``first_line`` to ``last_line`` were not imported: a quote on
    ``quote_line`` that never closed."""
    span = (f"line {first_line:,}" if first_line == last_line
            else f"lines {first_line:,} to {last_line:,}")
    where = ("is not closed within 131,072 characters" if limit_reached
             else "is never closed")
    return (f"Line {quote_line:,} opens a quote (\") that {where}, so {span} "
            f"{'was' if first_line == last_line else 'were'} read as one cell and nothing in "
            f"{'it' if first_line == last_line else 'them'} was imported. Close the quote, or "
            f"write a quote inside a cell as two (\"\"), and import {span} again.")


def swallowed_rows(row: list[str], width: int, delimiter: str) -> bool:
    """Does a cell read across line breaks hold a line with as many fields as the header (a
    row of its own, taken in by a quote left open)? A need written over several lines has
    none, unless one of its lines has ``width - 1`` delimiters of its own."""
    if width < 2:
        return False
    return any(line.count(delimiter) >= width - 1
               for cell in row for line in cell.splitlines()[1:])


def swallowed_rows_reason(*, quote_line: int, first_line: int, last_line: int) -> str:
    return (f"Line {quote_line:,} opens a quote (\") that is closed only on line "
            f"{last_line:,}, so the lines between, which look like rows of their own, were "
            f"read into one cell; nothing from lines {first_line:,} to {last_line:,} was "
            f"imported. Close the quote on line {quote_line:,}, or write a quote inside a "
            f"cell as two (\"\"), and import lines {first_line:,} to {last_line:,} again.")


def spanning_quote_hint(quote_line: int, last_line: int) -> str:
    """A note for a refused row that ran across line breaks inside a quote."""
    return (f" This row runs from the quote (\") on line {quote_line:,} to line "
            f"{last_line:,}; if that quote was not meant to hold line breaks, close it on "
            f"line {quote_line:,}.")


def label_lookup(choices) -> Callable[[str], str | None]:
    """A reader of a choice written as its code or its label, in any letter case and with
    spaces, hyphens or underscores alike: "This week", "THIS-WEEK" and "immediate" are one
    timeline. Gives None for text that is neither; blank is the blank choice."""
    def key(text: str) -> str:
        return re.sub(r"[\s_-]+", " ", text.strip().lower())

    found: dict[str, str] = {}
    for value, label in choices:
        found[key(value)] = value
        found.setdefault(key(str(label)), value)
    return lambda text: found.get(key(text))
