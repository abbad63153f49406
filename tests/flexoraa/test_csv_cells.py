"""The one guard against spreadsheet formulas in every CSV the project writes."""

import re
from pathlib import Path

import pytest

from flexoraa.csv_cells import read_cell, safe_cell, safe_row

ROOT = Path(__file__).resolve().parents[2]
APPS = ("flexoraa", "leads", "agents", "billing", "appointments", "experiments", "compliance",
        "monitoring", "sandbox")
WRITES_CSV = re.compile(r"\bcsv\.(writer|DictWriter)\(")


@pytest.mark.parametrize(("value", "written"), [
    ('=HYPERLINK("http://evil.test")', '\'=HYPERLINK("http://evil.test")'),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("a=1", "a=1"),
    ("Plain", "Plain"),
    ("", ""),
    (None, ""),
    (10_000, "10000"),
    (-5, "'-5"),
])
def test_a_cell_is_escaped_only_when_it_starts_like_a_formula(value, written):
    assert safe_cell(value) == written


def test_a_row_is_escaped_cell_by_cell():
    assert safe_row(("=1", "ok", None, 3)) == ["'=1", "ok", "", "3"]


def test_every_module_that_writes_csv_writes_through_the_guard():
    writers = [path for app in APPS if (ROOT / app).is_dir()
               for path in sorted((ROOT / app).rglob("*.py"))
               if WRITES_CSV.search(path.read_text(encoding="utf-8"))]
    assert writers, "no CSV writer found: the pattern no longer matches the project's code"
    unguarded = [str(path.relative_to(ROOT)) for path in writers
                 if "from flexoraa.csv_cells import" not in path.read_text(encoding="utf-8")]
    assert unguarded == [], f"CSV written without flexoraa.csv_cells: {unguarded}"


@pytest.mark.parametrize("value", ["=1", "+91 98765 43210", "-2", "@SUM(A1)", "\t=1", "Plain",
                                   "'quoted", "", "'"])
def test_a_cell_read_back_is_the_value_written(value):
    assert read_cell(safe_cell(value)) == value
