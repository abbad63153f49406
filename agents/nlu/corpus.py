"""Labelled lead messages: reading the guide's CSV format (with an optional ``act`` column),
refusing a malformed file with the line at fault, and the deterministic train / test split."""

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

INTENTS = ("high", "medium", "low")
ACTS = ("pricing", "booking", "objection", "opt_out", "question", "greeting", "human_request",
        "other")
REQUIRED_COLUMNS = ("text", "intent", "budget_amount", "budget_currency")
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
# One message in five is held out for testing; which one is fixed by the text alone, so a
# message never moves between train and test as the corpus grows.
TEST_SHARE = 0.2


class CorpusError(ValueError):
    """A corpus file that cannot be read as labelled; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    budget_amount: Decimal | None
    budget_currency: str
    act: str | None  # None when the file has no act column
    source: str = ""  # file:line, for error reports

    @property
    def key(self) -> str:
        """The text as a dedupe and split key: case and spacing do not make a new message."""
        return re.sub(r"\s+", " ", self.text.strip().lower())


def _where(name: str, line: int) -> str:
    return f"{name}, line {line}"


def read_examples(handle: Iterable[str], *, name: str = "<input>") -> list[Example]:
    """Examples of a CSV with the header ``text,intent,budget_amount,budget_currency`` (and
    optionally ``act``). Raises ``CorpusError`` naming the line of the first problem."""
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        raise CorpusError(f"{name} is empty; it needs the header "
                          f"{','.join(REQUIRED_COLUMNS)}.") from None
    except csv.Error as exc:
        raise CorpusError(f"{_where(name, 1)}: not valid CSV ({exc}).") from exc
    columns = [column.strip().lower().lstrip("\ufeff") for column in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise CorpusError(f"{_where(name, 1)}: the header lacks {', '.join(missing)}; it must "
                          f"have {','.join(REQUIRED_COLUMNS)} (and may have act).")
    unknown = [c for c in columns if c not in (*REQUIRED_COLUMNS, "act")]
    if unknown:
        raise CorpusError(f"{_where(name, 1)}: unknown column(s) {', '.join(unknown)}.")
    index = {column: columns.index(column) for column in columns}
    has_act = "act" in index
    examples = []
    line = reader.line_num
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise CorpusError(f"{_where(name, start)}: {len(row)} cells, the header has "
                                  f"{len(columns)}.")
            examples.append(_example(row, index, has_act, name, start))
    except csv.Error as exc:
        raise CorpusError(f"{_where(name, line + 1)}: not valid CSV ({exc}).") from exc
    return examples


def _example(row, index, has_act: bool, name: str, line: int) -> Example:
    text = row[index["text"]].strip()
    if not text:
        raise CorpusError(f"{_where(name, line)}: the text is empty.")
    intent = row[index["intent"]].strip().lower()
    if intent not in INTENTS:
        raise CorpusError(f"{_where(name, line)}: unknown intent '{intent}'; use "
                          f"{', '.join(INTENTS)}.")
    act = None
    if has_act:
        act = row[index["act"]].strip().lower()
        if act not in ACTS:
            raise CorpusError(f"{_where(name, line)}: unknown act '{act}'; use "
                              f"{', '.join(ACTS)}.")
    raw_amount = row[index["budget_amount"]].strip().replace(",", "")
    currency = row[index["budget_currency"]].strip().upper()
    amount = None
    if raw_amount:
        try:
            amount = Decimal(raw_amount)
        except InvalidOperation:
            raise CorpusError(f"{_where(name, line)}: budget_amount '{raw_amount}' is not a "
                              "number.") from None
        if not amount.is_finite() or amount <= 0:
            raise CorpusError(f"{_where(name, line)}: budget_amount must be above 0.")
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise CorpusError(f"{_where(name, line)}: a budget needs a three-letter "
                              f"budget_currency such as INR, not '{currency}'.")
    elif currency:
        raise CorpusError(f"{_where(name, line)}: budget_currency '{currency}' without a "
                          "budget_amount.")
    return Example(text=text, intent=intent, budget_amount=amount, budget_currency=currency,
                   act=act, source=f"{name}:{line}")


def read_file(path: Path) -> list[Example]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return read_examples(handle, name=path.name)
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path.name} is not UTF-8 text ({exc.reason}).") from exc
    except FileNotFoundError:
        raise CorpusError(f"{path} does not exist.") from None


def read_text(content: str, *, name: str = "<input>") -> list[Example]:
    return read_examples(io.StringIO(content), name=name)


def is_test(example: Example) -> bool:
    digest = hashlib.sha256(example.key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < TEST_SHARE


@dataclass(frozen=True)
class Corpus:
    train: list[Example]
    test: list[Example]
    sha256: str  # of the corpus files' bytes, in name order

    @property
    def all(self) -> list[Example]:
        return [*self.train, *self.test]


def load_corpus(directory: Path = CORPUS_DIR) -> Corpus:
    """Every ``*.csv`` in the corpus folder, deduplicated by text (the first file in name
    order wins), split into train and held-out test."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    train, test = [], []
    paths = sorted(directory.glob("*.csv"))
    if not paths:
        raise CorpusError(f"No corpus files (*.csv) in {directory}.")
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
        for example in read_file(path):
            if example.act is None:
                raise CorpusError(f"{path.name}: corpus files need the act column.")
            if example.key in seen:
                continue
            seen.add(example.key)
            (test if is_test(example) else train).append(example)
    return Corpus(train=train, test=test, sha256=digest.hexdigest())
