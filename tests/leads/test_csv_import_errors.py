"""The CSV import explains what a person can fix: a quote that is never closed (the line it
opened on, what to do), a file separated by semicolons or tabs (read as such, and said), the
timelines and authorities written as the pages show them; hostile files never cost the good
rows beside the bad ones, and never a server error."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from leads import csv_import
from leads.csv_dialect import QuoteTracker, header_delimiter
from leads.models import Authority, Lead, Timeline
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/leads/lead/import/"


def run(org, data: bytes | str) -> csv_import.ImportReport:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return csv_import.leads_import_csv(org=org, file=io.BytesIO(raw), actor=SETUP_ACTOR)


def reasons(report) -> list[tuple[int, str]]:
    return [(row.line, row.reason) for row in report.rejected]


def names(org) -> list[str]:
    return sorted(Lead.objects.for_org(org).values_list("name", flat=True))


# --- a quote that is never closed ------------------------------------------------------------

def test_a_quote_never_closed_names_its_line_and_what_to_do_and_keeps_the_rows_before(org):
    report = run(org, "name,phone\n"
                      "Asha,+919876543210\n"
                      '"Ravi,+919876543211\n'
                      "Meera,+919876543212\n"
                      "Dev,+919876543213\n")
    assert reasons(report) == [(3, (
        "Line 3 opens a quote (\") that is never closed, so lines 3 to 5 were read as one "
        "cell and nothing in them was imported. Close the quote, or write a quote inside a "
        "cell as two (\"\"), and import lines 3 to 5 again."))]
    assert report.rejected[0].cells == ()
    assert (report.created, report.total) == (1, 2)
    assert names(org) == ["Asha"]


def test_a_quote_opened_on_the_last_line_says_line_not_lines(org):
    report = run(org, 'name,phone\nAsha,+919876543210\nRavi,"+919876543211')
    assert reasons(report) == [(3, (
        "Line 3 opens a quote (\") that is never closed, so line 3 was read as one cell and "
        "nothing in it was imported. Close the quote, or write a quote inside a cell as two "
        "(\"\"), and import line 3 again."))]
    assert names(org) == ["Asha"]


def test_a_quote_that_closes_rows_later_is_named_where_it_swallowed_rows(org):
    report = run(org, "name,phone,need\n"
                      'Asha,+919876543210,"wants a CRM\n'
                      "Ravi,+919876543211,\n"
                      'Meera,+919876543212,"more seats"\n'
                      "Dev,+919876543213,\n")
    # Read as one row, Asha would carry Ravi and Meera in her need.
    assert reasons(report) == [(2, (
        "Line 2 opens a quote (\") that is closed only on line 4, so the lines between, "
        "which look like rows of their own, were read into one cell; nothing from lines 2 to "
        "4 was imported. Close the quote on line 2, or write a quote inside a cell as two "
        "(\"\"), and import lines 2 to 4 again."))]
    assert names(org) == ["Dev"]


def test_a_row_across_lines_with_the_wrong_cell_count_points_at_its_quote(org):
    report = run(org, 'name,phone,need\n"Asha\nRao",+919876543210\nDev,+919876543213,\n')
    assert reasons(report) == [(2, (
        "This row has 2 cell(s) but the header names 3 column(s). This row runs from the "
        "quote (\") on line 2 to line 3; if that quote was not meant to hold line breaks, "
        "close it on line 2."))]
    assert names(org) == ["Dev"]


def test_a_need_written_over_several_lines_is_not_blamed_on_its_quote(org):
    report = run(org, 'name,phone,budget_amount,need\nAsha,+919876543210,lots,"line one\n'
                      'line two"\nRavi,+919876543211,,\n')
    assert reasons(report) == [(2, "budget_amount: Give the budget as a number, like 250000.")]
    assert names(org) == ["Ravi"]


def test_a_quote_running_past_the_cell_limit_names_its_line_and_the_rest_is_imported(org):
    # 150 lines of 1,000 characters: the cell passes the csv module's limit on line 135.
    swallowed = "".join(f"{n:04d}" + "x" * 995 + "\n" for n in range(150))
    report = run(org, 'name,phone\nAsha,+919876543210\n"Ravi,+919876543211\n' + swallowed
                 + "Meera,+919876543212\nDev,+919876543213\n")
    first = report.rejected[0]
    assert (first.line, first.cells) == (3, ())
    assert first.reason.startswith("Line 3 opens a quote (\") that is not closed within "
                                   "131,072 characters, so lines 3 to 135 were read as one "
                                   "cell and nothing in them was imported.")
    # The csv reader gives up on the cell and reads on from the next line: the lines still
    # in the quote are rows of one cell, and the rows after them come in.
    assert {reason[:40] for _, reason in reasons(report)[1:]} == {
        "This row has 1 cell(s) but the header na"}
    assert names(org) == ["Asha", "Dev", "Meera"]


def test_a_closed_cell_over_the_limit_is_not_called_an_unclosed_quote(org):
    report = run(org, b'name,phone\n"' + b"z" * 200_000 + b'",+919876543210\n'
                      b"Meera,+919876543212\n")
    assert reasons(report) == [(2, "This row cannot be read as CSV: a cell is longer than "
                                   "131,072 characters, far more than any lead's details.")]
    assert names(org) == ["Meera"]


def test_quotes_inside_cells_written_twice_or_mid_cell_are_read_as_text(org):
    report = run(org, 'name,phone,need\n"Asha ""AR"" Rao",+919876543210,a 5" screen\n'
                      'Ravi,+919876543211,"two ""quoted"" words"\n')
    assert (report.created, report.rejected) == (2, ())
    assert names(org) == ['Asha "AR" Rao', "Ravi"]


def test_the_quote_tracker_follows_the_csv_modules_rules():
    tracker = QuoteTracker(",")
    lines = list(tracker.lines(iter(['a,"b\n', 'c"",d\n', 'e",f\n', 'g"h,"i\n'])))
    assert len(lines) == 4
    assert tracker.record_done() == 1  # the quote of line 1 ran across two line breaks
    assert tracker.open_since == 4  # 'g"h' is text; the quote before i opens a cell


# --- semicolons and tabs -------------------------------------------------------------------

@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_a_file_separated_by_semicolons_or_tabs_is_read_and_the_report_says_so(
    org, delimiter, name
):
    rows = [["Name", "Phone", "Need", "Timeline"],
            ["Asha", "+919876543210", "CRM, for 20 reps", "This week"],
            ["Bad", "12", "", ""],
            ["Ravi", "+919876543211", '"quoted; need"', "month"]]
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    report = run(org, text)
    assert (report.delimiter, report.delimiter_name) == (delimiter, name)
    assert [line for line, _ in reasons(report)] == [3]
    asha = Lead.objects.for_org(org).get(name="Asha")
    assert (asha.need, asha.timeline) == ("CRM, for 20 reps", Timeline.IMMEDIATE)
    assert Lead.objects.for_org(org).get(name="Ravi").need == "quoted; need"


@pytest.mark.parametrize(("header", "delimiter"), [
    ("name,phone", ","), ("name;phone", ";"), ("name\tphone", "\t"), ("phone", ","),
    ("Name ; Phone ; Budget Amount", ";"), ('"name";"phone"', ";"), ("nom;telephone", ","),
])
def test_the_header_tells_the_delimiter(header, delimiter):
    assert header_delimiter(header + "\n", csv_import.COLUMNS) == delimiter


def test_a_semicolon_file_with_unknown_columns_is_refused_naming_them(org):
    from leads.errors import CsvHeaderRefused

    with pytest.raises(CsvHeaderRefused, match="Unknown column 'nom;telephone'"):
        run(org, "nom;telephone\nAsha;+919876543210\n")


def test_a_semicolon_file_with_a_bom_blank_lines_and_mixed_line_endings(org):
    data = (b"\xef\xbb\xbf\r\n\r\nname;phone;authority\r\n"
            b"Asha;+919876543210;Decision maker\n"
            b"Ravi;+919876543211;influencer\r"
            b"Meera;+919876543212;END USER, NOT DECIDING\r\n")
    report = run(org, data)
    assert (report.created, report.rejected, report.delimiter) == (3, (), ";")
    authorities = dict(Lead.objects.for_org(org).values_list("name", "authority"))
    assert authorities == {"Asha": Authority.DECISION_MAKER, "Ravi": Authority.INFLUENCER,
                           "Meera": Authority.USER}


def test_the_progress_total_counts_a_semicolon_files_records(org):
    data = b'name;phone;need\nAsha;+919876543210;"two\nlines"\nRavi;+919876543211;\n'
    assert csv_import.count_rows(io.BytesIO(data)) == 2


# --- the labels the pages show -------------------------------------------------------------

@pytest.mark.parametrize(("written", "stored"), [
    *[(label, value) for value, label in Timeline.choices if value],
    *[(label.upper(), value) for value, label in Timeline.choices if value],
    *[(value, value) for value in Timeline.values if value],
    ("  within-a-MONTH ", Timeline.MONTH), ("Later_or_undecided", Timeline.LATER),
    ("Unknown", ""), ("", ""),
])
def test_a_timeline_is_taken_as_its_code_or_the_label_the_pages_show(org, written, stored):
    report = run(org, f'name,phone,timeline\nAsha,+919876543210,"{written}"\n')
    assert report.rejected == ()
    assert Lead.objects.for_org(org).get().timeline == stored


def test_an_unknown_timeline_names_the_labels_and_codes_it_may_be(org):
    report = run(org, "name,phone,timeline\nAsha,+919876543210,soonish\n"
                      "Ravi,+919876543211,this quarter\n"
                      "Meera,+919876543212,Within three months\n")
    assert [line for line, _ in reasons(report)] == [2, 3]
    assert reasons(report)[0][1] == (
        "timeline: Unknown timeline 'soonish'; write one of This week, Within a month, "
        "Within three months, Later or undecided (or immediate, month, quarter, later), or "
        "leave it blank.")
    assert names(org) == ["Meera"]


def test_the_column_guide_lists_the_codes_with_their_labels():
    guide = dict(csv_import.COLUMN_GUIDE)
    assert guide["timeline"].startswith("One of immediate (This week), month (Within a month)")
    assert "decision_maker (Decision maker)" in guide["authority"]


# --- odd characters and hostile bytes --------------------------------------------------------

def test_odd_characters_in_a_semicolon_file_are_kept_and_good_rows_survive_bad_ones(org):
    data = ("name;phone;need\n"
            "Zoë\u200b O\u2019Brien;+919876543210;naïve — “quoted” 🚀\n"
            "Null\x00;+919876543211;\n"
            "नमस्ते;+919876543212;\u202eevil\n").encode() + b"\xff\xfe;+919876543213;\n"
    report = run(org, data)
    assert [line for line, _ in reasons(report)] == [3, 5]
    assert names(org) == sorted(["Zoë\u200b O\u2019Brien", "नमस्ते"])


def test_a_file_of_only_quotes_or_delimiters_is_a_clear_refusal_not_a_crash(org):
    from leads.errors import CsvHeaderRefused

    for data in (b'"', b";;;;\n;;;\n", b'"""""\n', b"\t\t\n"):
        with pytest.raises(CsvHeaderRefused):
            run(org, data)
    assert not Lead.objects.exists()


# --- the command and the upload page ---------------------------------------------------------

def test_the_command_says_it_read_semicolons_and_names_the_unclosed_quote(org, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_bytes(b'name;phone\nAsha;+919876543210\n"Ravi;+919876543211\nMeera;+91\n')
    out = io.StringIO()
    call_command("import_leads", str(source), org=org.slug, verbosity=0, stdout=out)
    text = out.getvalue()
    assert ("The file separates its fields with semicolons rather than commas; it was read "
            "that way.") in text
    assert "created:                    1" in text
    assert "line 3: Line 3 opens a quote (\") that is never closed, so lines 3 to 4" in text


def _upload(client, data: bytes):
    return client.post(IMPORT_URL, {
        "file": SimpleUploadedFile("leads.csv", data, content_type="text/csv")})


@pytest.mark.parametrize("data", [
    b'name,phone\nAsha,+919876543210\n"Ravi,+919876543211\n',
    b"name;phone\r\nAsha;+919876543210\r\nBad;12\r\n",
    b"\xef\xbb\xbfname\tphone\tTimeline\nAsha\t+919876543210\tTHIS WEEK\n",
    b'name,phone\n"' + b"q" * 300_000 + b"\n",
    b"name,phone\n" + "\u0000\u202e\U0001f600,+919876543210\n".encode() + b"\r\r\n\n",
])
def test_the_upload_page_reports_hostile_files_without_a_server_error(
    login_client, manager, data
):
    response = _upload(login_client(manager), data)
    assert response.status_code == 200
    assert "Imported into" in response.content.decode()


def test_the_upload_page_says_the_file_was_read_with_semicolons(login_client, manager, org):
    response = _upload(login_client(manager),
                       b"name;phone;timeline\nAsha;+919876543210;Within a month\n"
                       b'"Ravi;+919876543211;\n')
    page = response.content.decode()
    assert ("This file separates its fields with semicolons rather than commas; it was read "
            "that way.") in page
    assert "Line 3 opens a quote (&quot;) that is never closed" in page
    assert Lead.objects.for_org(org).get().timeline == Timeline.MONTH
