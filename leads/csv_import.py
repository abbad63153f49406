"""Leads from a CSV file, shared by ``manage.py import_leads`` and the manager console's upload.

The file is UTF-8 (a byte-order mark, as Excel writes it, is fine) with a header row naming
the columns in any order and any letter case. Fields are separated by commas, or by the
semicolons or tabs some spreadsheets save "CSV" with: the header tells which (the separator
that splits it into known column names), and the report says so. Choices (authority,
timeline) are taken as their codes or as the labels the pages show them with ("This week").
Each data row goes through
``services.lead_intake`` on its own (its own transaction): a row the service refuses is
reported with the line it starts on and the service's reason, and the other rows are
imported. The same phone or email merges into the existing lead, also between rows of the
same file. The file is read as a stream, line by line, never whole into memory.
"""

import csv
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import DataError

from flexoraa.actors import Actor
from flexoraa.csv_cells import read_cell
from flexoraa.errors import FlexoraaError
from flexoraa.models import Organization
from leads import services
from leads.csv_dialect import (
    DELIMITERS,
    QuoteTracker,
    header_delimiter,
    label_lookup,
    spanning_quote_hint,
    swallowed_rows,
    swallowed_rows_reason,
    unclosed_quote_reason,
)
from leads.errors import CsvHeaderRefused
from leads.models import Authority, Lead, Source, Timeline

logger = logging.getLogger(__name__)

COLUMNS = ("name", "phone", "email", "need", "budget_amount", "budget_currency", "authority",
           "timeline")
CONTACT_COLUMNS = ("phone", "email")

# What each column takes, for the command's help and the console's upload page.
COLUMN_GUIDE = (
    ("name", "The person's name, up to 200 characters."),
    ("phone", "With its country code (+91 98765 43210); a number without one is read as a "
              "number of the organization's country."),
    ("email", "An email address."),
    ("need", "What they are looking for, in their words (up to 5,000 characters)."),
    ("budget_amount", "A number such as 250000 or 2,50,000, without a currency sign."),
    ("budget_currency", "A three-letter currency code such as INR or USD; needed with an "
                        "amount."),
    ("authority", "One of " + ", ".join(f"{v} ({label})" for v, label in Authority.choices
                                        if v) + ", as the code or the words; or blank."),
    ("timeline", "One of " + ", ".join(f"{v} ({label})" for v, label in Timeline.choices
                                       if v) + ", as the code or the words; or blank."),
)
_AUTHORITY = label_lookup(Authority.choices)
_TIMELINE = label_lookup(Timeline.choices)

CSV_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
EMAIL_MAX_LENGTH = Lead._meta.get_field("email").max_length
_READ_CHUNK_BYTES = 64 * 1024
# A row of every column at its limit is a few kilobytes; a line past this is not a row of
# leads (a binary file, a log), and is refused without being held in memory.
MAX_LINE_BYTES = 1024 * 1024
# How many unknown header titles an error names; a file of a million columns gets the first
# few and a count, not a message as large as the file.
_TITLES_NAMED = 5
_TITLE_SHOWN_CHARS = 40
_BOM = b"\xef\xbb\xbf"
# 2,50,000 (Indian grouping) or 250,000: commas that only group digits.
_GROUPED_NUMBER = re.compile(r"^\d+(?:,\d{2,3})+(?:\.\d+)?$")


@dataclass(frozen=True)
class RejectedRow:
    line: int  # the physical line of the file the row starts on; the header is line 1
    reason: str
    cells: tuple[str, ...]  # the row as it was in the file


@dataclass(frozen=True)
class ImportReport:
    created: int
    merged: int  # rows merged into an existing lead with the same phone or email
    rejected: tuple[RejectedRow, ...]
    total: int  # data rows read, blank rows not counted: created + merged + rejected
    header: tuple[str, ...] = ()  # the header row as written in the file
    delimiter: str = ","  # what separates the fields, as read from the header

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, self.delimiter)


ProgressCallback = Callable[[int], None]


def _physical_lines(binary: BinaryIO) -> Iterator[bytes | None]:
    """The file's lines as bytes with their endings, read in chunks. \\n, \\r\\n and a lone
    \\r each end a line, so the csv reader's ``line_num`` counts what an editor shows. A line
    longer than ``MAX_LINE_BYTES`` comes as None: its bytes are skipped as they are read, never
    held, so a file of one endless line costs neither memory nor time."""
    pieces: list[bytes] = []  # the line being read, in the pieces the chunks gave
    size = 0
    too_long = False
    awaiting_lf = False  # the line ended with a \r at a chunk's end; its \n may come next

    def take() -> bytes | None:
        nonlocal pieces, size, too_long
        line = None if too_long else b"".join(pieces)
        pieces, size, too_long = [], 0, False
        return line

    while True:
        chunk = binary.read(_READ_CHUNK_BYTES)
        if not chunk:
            break
        if isinstance(chunk, str):
            raise TypeError("Open the CSV file in binary mode ('rb').")
        if awaiting_lf:
            awaiting_lf = False
            if chunk.startswith(b"\n"):
                if not too_long:
                    pieces.append(b"\n")
                chunk = chunk[1:]
            yield take()
        parts = chunk.splitlines(keepends=True)
        for index, part in enumerate(parts):
            if not too_long:
                size += len(part)
                if size > MAX_LINE_BYTES:
                    pieces, too_long = [], True
                else:
                    pieces.append(part)
            if part.endswith(b"\n"):
                yield take()
            elif part.endswith(b"\r"):
                if index == len(parts) - 1:
                    awaiting_lf = True
                else:
                    yield take()
    if pieces or too_long:
        yield take()


@dataclass
class _LineProblems:
    """Physical lines (numbered from 1) that no row can be read from, by why."""

    undecodable: set[int] = field(default_factory=set)  # not UTF-8
    too_long: set[int] = field(default_factory=set)  # longer than MAX_LINE_BYTES

    def reason(self, line: int) -> str | None:
        if line in self.too_long:
            return (f"Line {line} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB, far "
                    f"more than any row of leads; check that this is the CSV of leads.")
        if line in self.undecodable:
            return (f"Line {line} is not UTF-8 text; save the file as 'CSV UTF-8' and "
                    f"import this row again.")
        return None


def _text_lines(binary: BinaryIO, problems: _LineProblems) -> Iterator[str]:
    """Decoded lines. A line that is not UTF-8, or too long, is noted in ``problems`` (its
    row is then rejected, not the whole file). UTF-8 never puts a \\r or \\n byte inside a
    character, so splitting before decoding is safe."""
    for number, raw in enumerate(_physical_lines(binary), start=1):
        if raw is None:
            problems.too_long.add(number)
            # A stand-in the csv reader reads as one non-blank cell, so the row is reported.
            yield "\ufffd\n"
            continue
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.undecodable.add(number)
            yield raw.decode("utf-8", errors="replace")


def _csv_reader(binary: BinaryIO, problems: _LineProblems):
    """``(csv reader, its quote tracker)`` over the file's lines, split by the delimiter the
    header uses."""
    lines = _text_lines(binary, problems)
    peeked: list[str] = []
    for line in lines:
        peeked.append(line)
        if line.strip(" \t\r\n,;"):  # the first line with anything in it is the header
            break
    delimiter = header_delimiter(peeked[-1], COLUMNS) if peeked else ","
    tracker = QuoteTracker(delimiter)
    reader = csv.reader(tracker.lines(itertools.chain(peeked, lines)), delimiter=delimiter)
    return reader, tracker


def _column_key(title: str) -> str:
    return re.sub(r"[\s-]+", "_", title.strip().lower())


def _is_blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _shown_title(title: str) -> str:
    """A header title as an error may quote it: control characters shown as U+FFFD, and no
    longer than a title could sensibly be."""
    shown = "".join("\ufffd" if ord(char) < 32 else char for char in title.strip())
    if len(shown) > _TITLE_SHOWN_CHARS:
        shown = shown[:_TITLE_SHOWN_CHARS] + "…"
    return shown


def _read_header(reader, problems: _LineProblems) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(columns, header as written)``; raises ``CsvHeaderRefused``."""
    known = ", ".join(COLUMNS)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            raise CsvHeaderRefused(
                f"The file is empty: its first line must name the columns, such as {known}."
            ) from None
        except csv.Error as exc:
            raise CsvHeaderRefused(
                f"Line {reader.line_num} (the header) cannot be read as CSV: {exc}."
            ) from exc
        if not _is_blank(row):
            break
    if problems.too_long:
        raise CsvHeaderRefused(
            f"Line {min(problems.too_long)} (the header) is longer than "
            f"{MAX_LINE_BYTES // (1024 * 1024)} MB; the first line must name the columns, "
            f"such as {known}."
        )
    if problems.undecodable:
        raise CsvHeaderRefused(
            f"Line {min(problems.undecodable)} is not UTF-8 text. Save the file as 'CSV UTF-8' "
            f"and upload it again."
        )
    columns = tuple(_column_key(title) for title in row)
    for position, column in enumerate(columns, start=1):
        if not column:
            raise CsvHeaderRefused(
                f"Column {position} of the header has no name; name it or remove it. The "
                f"known columns are {known}.", fields={"header": ["A column has no name."]},
            )
    unknown = [_shown_title(title) for title, column in zip(row, columns, strict=True)
               if column not in COLUMNS]
    if unknown:
        named = ", ".join(f"'{title}'" for title in unknown[:_TITLES_NAMED])
        if len(unknown) > _TITLES_NAMED:
            named += f" and {len(unknown) - _TITLES_NAMED:,} more"
        noun = "column" if len(unknown) == 1 else "columns"
        raise CsvHeaderRefused(
            f"Unknown {noun} {named}; the known columns are {known}.",
            fields={"header": [f"Unknown column '{title}'."
                               for title in unknown[:_TITLES_NAMED]]},
        )
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise CsvHeaderRefused(f"The column '{column}' appears twice in the header.",
                                   fields={"header": [f"'{column}' appears twice."]})
        seen.add(column)
    if not seen & set(CONTACT_COLUMNS):
        raise CsvHeaderRefused(
            "The file needs a phone or an email column (or both): every lead must be "
            "reachable.", fields={"header": ["Add a phone or an email column."]},
        )
    return columns, tuple(row)


def plain_amount(text: str) -> str | None:
    """None for a blank amount; 2,50,000 or 250,000 without the grouping commas; anything
    else as it is, for the service to accept or refuse with its reason."""
    text = text.strip()
    if not text:
        return None
    return text.replace(",", "") if _GROUPED_NUMBER.match(text) else text


_CHOICES = (("authority", Authority, _AUTHORITY), ("timeline", Timeline, _TIMELINE))


def _unknown_choice(values: dict[str, str]) -> str | None:
    """Why an authority or timeline cannot be read, naming what it may be."""
    for column, choices, lookup in _CHOICES:
        written = values.get(column, "")
        if lookup(written) is None:
            labels = ", ".join(label for value, label in choices.choices if value)
            codes = ", ".join(value for value in choices.values if value)
            return (f"{column}: Unknown {column} '{_shown_title(written)}'; write one of "
                    f"{labels} (or {codes}), or leave it blank.")
    return None


def _lead_input(values: dict[str, str]) -> services.LeadInput:
    return services.LeadInput(
        name=values.get("name", ""), phone=values.get("phone", ""),
        email=values.get("email", ""), need=values.get("need", ""),
        budget_amount=plain_amount(values.get("budget_amount", "")),
        budget_currency=values.get("budget_currency", ""),
        authority=_AUTHORITY(values.get("authority", "")) or "",
        timeline=_TIMELINE(values.get("timeline", "")) or "",
    )


# The csv module's own limit on one cell; a cell past it ends its record with an error.
_FIELD_LIMIT_ERROR = "field larger than field limit"


def _unreadable_reason(exc: csv.Error, tracker: QuoteTracker, first: int, last: int) -> str:
    """Why the record from line ``first`` to ``last`` could not be read at all."""
    limit_reached = _FIELD_LIMIT_ERROR in str(exc)
    if tracker.open_since is not None:
        return unclosed_quote_reason(quote_line=tracker.open_since, first_line=first,
                                     last_line=last, limit_reached=limit_reached)
    if limit_reached:
        return ("This row cannot be read as CSV: a cell is longer than 131,072 characters, "
                "far more than any lead's details.")
    return f"This row cannot be read as CSV: {exc}."


def leads_import_csv(
    *, org: Organization, file: BinaryIO, actor: Actor,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the leads of a CSV file (opened in binary mode) into ``org``.

    ``progress`` is called with the number of records read so far (blank ones included,
    as ``count_rows`` counts them) after each one. Raises ``CsvHeaderRefused`` before
    importing anything when the header cannot be used; a refused row never raises.
    """
    problems = _LineProblems()
    reader, tracker = _csv_reader(file, problems)
    columns, header = _read_header(reader, problems)
    tracker.record_done()
    created = merged = records = 0
    rejected: list[RejectedRow] = []

    def reject(line: int, reason: str, row: list[str]) -> None:
        rejected.append(RejectedRow(line=line, reason=reason, cells=tuple(row)))

    last_line = reader.line_num
    while True:
        # A record starts on the line after the previous one ended; line_num counts the
        # physical lines read, so a quoted field spanning lines keeps the count right.
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last_line = reader.line_num
            reject(start, _unreadable_reason(exc, tracker, start, last_line), [])
            tracker.reset()  # the reader starts afresh on the next line
        else:
            last_line = reader.line_num
            spanning = tracker.record_done()
            if tracker.open_since is not None:
                # Only the end of the file ends a record inside a quote: every line since
                # the quote is one cell. Its rows are named, not imported as a mangled one.
                reject(start, unclosed_quote_reason(
                    quote_line=tracker.open_since, first_line=start, last_line=last_line,
                    limit_reached=False), [])
                tracker.reset()
            elif spanning is not None and swallowed_rows(row, len(columns),
                                                         tracker.delimiter):
                # Imported, the first row would carry the others in one of its cells.
                reject(start, swallowed_rows_reason(
                    quote_line=spanning, first_line=start, last_line=last_line), row)
            elif not _is_blank(row):
                outcome = _import_row(org=org, actor=actor, columns=columns, row=row,
                                      lines=range(start, last_line + 1),
                                      problems=problems)
                if isinstance(outcome, str):
                    # A line too long to keep left only a stand-in; report no cells for it.
                    too_long = any(line in problems.too_long
                                   for line in range(start, last_line + 1))
                    if spanning is not None and not too_long and len(row) != len(columns):
                        outcome += spanning_quote_hint(spanning, last_line)
                    reject(start, outcome, [] if too_long else row)
                elif outcome:
                    created += 1
                else:
                    merged += 1
        records += 1
        if progress is not None:
            progress(records)

    report = ImportReport(created=created, merged=merged, rejected=tuple(rejected),
                          total=created + merged + len(rejected), header=header,
                          delimiter=tracker.delimiter)
    logger.info("leads csv import org=%s created=%s merged=%s rejected=%s", org.pk,
                report.created, report.merged, len(report.rejected))
    return report


def _import_row(*, org, actor, columns, row, lines: range,
                problems: _LineProblems) -> bool | str:
    """True: a new lead; False: merged into an existing one; a string: why it was refused."""
    for line in lines:
        reason = problems.reason(line)
        if reason is not None:
            return reason
    if len(row) != len(columns):
        return (f"This row has {len(row)} cell(s) but the header names {len(columns)} "
                f"column(s).")
    values = {column: read_cell(cell).strip()
              for column, cell in zip(columns, row, strict=True)}
    # What a Django form refuses too: PostgreSQL cannot store a NUL character in text, nor
    # an email longer than its column.
    with_nul = [column for column, value in values.items() if "\x00" in value]
    if with_nul:
        return f"{with_nul[0]}: Null characters are not allowed."
    if len(values.get("email", "")) > EMAIL_MAX_LENGTH:
        return f"email: Keep the email address to {EMAIL_MAX_LENGTH} characters."
    unknown = _unknown_choice(values)
    if unknown is not None:
        return unknown
    try:
        result = services.lead_intake(org=org, data=_lead_input(values),
                                      source=Source.CSV_IMPORT, actor=actor)
    except FlexoraaError as exc:
        return exc.message
    except DataError:
        # The row's own transaction has rolled back; one row must not end the import.
        logger.exception("leads csv import row refused by the database org=%s line=%s",
                         org.pk, lines.start)
        return "A value in this row is too long or malformed to be stored."
    return result.created


def count_rows(file: BinaryIO) -> int:
    """How many records follow the header (blank ones included), for a progress total.
    Reads the file once, as a stream; leaves the position at its end."""
    reader, _ = _csv_reader(file, _LineProblems())
    records = 0
    header_seen = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            row = ["unreadable"]
        if not header_seen:
            header_seen = not _is_blank(row)
            continue
        records += 1
    return records
