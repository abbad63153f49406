"""The labelled messages agree with the guide's settled cases where the text leaves no doubt:
a check over every corpus and check-set row, so a relabelling that contradicts them fails."""

import re
from pathlib import Path

import pytest

from agents.nlu.corpus import load_corpus, read_file

EVAL_DIR = Path(__file__).resolve().parents[2] / "agents" / "nlu" / "eval"

NEAR_DATE = re.compile(
    r"\b(today|tonight|tomorrow|tmrw|aaj|kal|this week|is hafte|isi hafte|by (monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|the \d+(st|nd|rd|th)?))\b|आज|कल|इस हफ्ते")
QUOTE_WANTED = re.compile(
    r"\b(send|share|email|bhej\w*|need|chahiye)\b.{0,40}\b(quote|quotation|proposal|estimate)\b"
    r"|\b(quote|quotation|proposal|estimate)\b.{0,30}\b(send|bhej\w*|chahiye|please|pls)\b")
APPROVAL_PENDING = re.compile(
    r"\b(needs?|need to get|waiting (on|for)|pending|have to get|has to get|can get|to get|"
    r"will get|must get)\s+(\w+\s+){0,3}"
    r"(approval|sign-?off)\b|\bapproval (pending|baaki|lena padega|ke baad)\b"
    r"|\bapprove karwa\w*|\b(wants|has|have|needs?) to (approve|sign off)\b")
RESEARCH = re.compile(r"\b(thesis|dissertation|survey|assignment|research paper|college project|"
                      r"school project|final-year project)\b")
STUDENT = re.compile(r"\bstudent\b|छात्र")


def labelled_rows():
    corpus = load_corpus().all
    checks = [example for path in sorted(EVAL_DIR.glob("*.csv")) for example in read_file(path)]
    return corpus + checks


@pytest.fixture(scope="module")
def rows():
    return labelled_rows()


def test_a_quote_wanted_by_a_near_date_is_never_labelled_low(rows):
    wrong = [e.source for e in rows if e.intent == "low" and QUOTE_WANTED.search(e.text.lower())
             and NEAR_DATE.search(e.text.lower())]
    assert not wrong, wrong


def test_an_approval_still_to_come_is_never_labelled_high(rows):
    wrong = [e.source for e in rows
             if e.intent == "high" and APPROVAL_PENDING.search(e.text.lower())]
    assert not wrong, wrong


def test_a_student_doing_research_is_never_labelled_high(rows):
    wrong = [e.source for e in rows if e.intent == "high" and STUDENT.search(e.text.lower())
             and RESEARCH.search(e.text.lower())]
    assert not wrong, wrong
