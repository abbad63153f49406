"""The CSV import meets hostile files: NUL bytes, text that is not UTF-8, one endless line,
a hundred thousand columns, odd characters. Each is a clear reason for its row or for the
file, never a crash; and the report of rejected rows never hands a spreadsheet a formula."""

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from flexoraa.actors import Actor
from leads import csv_import
from leads.errors import CsvHeaderRefused
from leads.models import Lead

pytestmark = pytest.mark.django_db

IMPORTER = Actor.system("test:csv_import")


def run_import(org, data: bytes) -> csv_import.ImportReport:
    return csv_import.leads_import_csv(org=org, file=io.BytesIO(data), actor=IMPORTER)


def reasons(report) -> list[tuple[int, str]]:
    return [(row.line, row.reason) for row in report.rejected]


# --- the reader ----------------------------------------------------------------------------


def test_nul_bytes_reject_their_row_and_the_rest_is_imported(org):
    data = (b"name,phone\n"
            b"Asha\x00Rao,+919876543210\n"
            b"Ravi,+91987654\x003211\n"
            b"Meera,+919876543212\n")
    report = run_import(org, data)
    assert reasons(report) == [(2, "name: Null characters are not allowed."),
                               (3, "phone: Null characters are not allowed.")]
    assert list(Lead.objects.for_org(org).values_list("name", flat=True)) == ["Meera"]


def test_a_nul_in_the_header_is_refused_naming_the_column_without_the_nul(org):
    with pytest.raises(CsvHeaderRefused) as refused:
        run_import(org, b"na\x00me,phone\nAsha,+919876543210\n")
    assert "'na\ufffdme'" in refused.value.message
    assert "\x00" not in refused.value.message
    assert not Lead.objects.exists()


def test_bytes_that_are_not_utf8_reject_only_their_row(org):
    data = (b"name,phone\n"
            b"\xff\xfe\xed\xa0\x80,+919876543210\n"  # not UTF-8, nor an encoded surrogate
            b"Meera,+919876543212\n")
    report = run_import(org, data)
    assert reasons(report) == [
        (2, "Line 2 is not UTF-8 text; save the file as 'CSV UTF-8' and import this row again.")]
    assert Lead.objects.for_org(org).get().name == "Meera"


def test_one_line_of_fifty_megabytes_is_refused_for_its_row_quickly_and_the_rest_imported(
    org, tmp_path
):
    path = tmp_path / "endless.csv"
    with path.open("wb") as out:
        out.write(b"name,phone\n")
        out.write(b"Asha,+919876543210\n")
        out.write(b"x" * (50 * 1024 * 1024) + b",+919876543299\n")
        out.write(b"Meera,+919876543212\n")
    started = time.monotonic()
    with path.open("rb") as stream:
        report = csv_import.leads_import_csv(org=org, file=stream, actor=IMPORTER)
    elapsed = time.monotonic() - started
    assert reasons(report) == [(3, "Line 3 is longer than 1 MB, far more than any row of "
                                   "leads; check that this is the CSV of leads.")]
    assert report.rejected[0].cells == ()  # the 50 MB are never kept
    assert report.created == 2
    # Read in one pass: a line of 50 MB re-joined at every chunk took minutes.
    assert elapsed < 20, elapsed


def test_a_header_of_fifty_megabytes_with_no_line_ending_is_refused(org):
    with pytest.raises(CsvHeaderRefused, match=r"^Line 1 \(the header\) is longer than 1 MB"):
        run_import(org, b"name," * (10 * 1024 * 1024))


def test_a_long_line_split_across_chunks_with_crlf_keeps_line_numbers(org, monkeypatch):
    monkeypatch.setattr(csv_import, "_READ_CHUNK_BYTES", 5)
    monkeypatch.setattr(csv_import, "MAX_LINE_BYTES", 40)
    data = (b"name,phone\r\n"
            + b"y" * 60 + b",+919876543299\r\n"
            + b"Asha,+919876543210\r"  # an old Mac ending, then a Windows one
            + b"Bad,12\r\n"
            + b"Meera,+919876543212\r\n")
    report = run_import(org, data)
    assert [line for line, _ in reasons(report)] == [2, 4]
    assert "longer than" in reasons(report)[0][1]
    assert report.created == 2
    assert csv_import.count_rows(io.BytesIO(data)) == 4


def test_a_hundred_thousand_unknown_columns_are_refused_in_a_message_of_a_few_lines(org):
    header = ",".join(f"col{index}" for index in range(100_000)) + ",phone\n"
    with pytest.raises(CsvHeaderRefused) as refused:
        run_import(org, header.encode() + b"x\n")
    message = refused.value.message
    assert message.startswith("Unknown columns 'col0', 'col1', 'col2', 'col3', 'col4' and "
                              "99,995 more; the known columns are")
    assert len(message) < 300
    assert len(refused.value.fields["header"]) == 5


def test_a_row_of_four_hundred_thousand_cells_is_rejected_for_its_count(org):
    data = b"name,phone\n" + b"a," * 400_000 + b"b\nMeera,+919876543212\n"
    report = run_import(org, data)
    assert reasons(report) == [
        (2, "This row has 400001 cell(s) but the header names 2 column(s).")]
    assert report.created == 1


def test_a_cell_over_the_csv_field_limit_rejects_its_row(org):
    data = b'name,phone\n"' + b"z" * 200_000 + b'",+919876543210\nMeera,+919876543212\n'
    report = run_import(org, data)
    assert [line for line, _ in reasons(report)] == [2]
    assert "cannot be read as CSV" in report.rejected[0].reason
    assert report.created == 1


@pytest.mark.parametrize("name", [
    "Zoë\u200b\u202eReverse",  # a zero-width space and a right-to-left override
    "Line\u2028Separator",
    "Emoji \U0001f600 and tab\tinside",
    "\ufeffBOM inside",
    "Vertical\x0btab and form\x0cfeed",
])
def test_odd_characters_are_stored_as_written(org, name):
    data = ("name,phone\n" + f'"{name}",+919876543210\n').encode()
    report = run_import(org, data)
    assert (report.created, report.rejected) == (1, ())
    assert Lead.objects.for_org(org).get().name == name


# --- the command's report ------------------------------------------------------------------

FORMULA_NAMES = ['=HYPERLINK("http://evil.test","x")', "+1", "-2", "@SUM(A1:A9)", "\t=1",
                 "\r=1"]


def test_the_rejected_rows_report_neutralises_every_cell_that_starts_like_a_formula(
    org, tmp_path
):
    source = tmp_path / "leads.csv"
    with source.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "phone"])
        for name in FORMULA_NAMES:
            writer.writerow([name, "12"])  # too few digits: rejected with the cells kept
        writer.writerow(["Plain", "+2"])
    report = tmp_path / "rejected.csv"

    call_command("import_leads", str(source), org=org.slug, report=str(report),
                 verbosity=0, stdout=io.StringIO())

    with report.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "name", "phone"]
    names = [row[2] for row in rows[1:]]
    assert names == ["'" + name for name in FORMULA_NAMES] + ["Plain"]
    assert rows[-1][3] == "'+2"  # a phone that starts with + is a formula to a spreadsheet
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
               for row in rows for cell in row)


def test_the_command_reports_a_hostile_file_row_by_row_without_a_traceback(org, tmp_path):
    source = tmp_path / "hostile.csv"
    source.write_bytes(b"name,phone\n"
                       b"A\x00,+919876543210\n"
                       b"\xc3\x28,+919876543211\n"
                       + b"q" * (2 * 1024 * 1024) + b"\n"
                       b"Meera,+919876543212\n")
    out = io.StringIO()
    call_command("import_leads", str(source), org=org.slug, verbosity=0, stdout=out)
    text = out.getvalue()
    assert "created:                    1" in text
    assert "line 2: name: Null characters are not allowed." in text
    assert "line 3: Line 3 is not UTF-8 text" in text
    assert "line 4: Line 4 is longer than 1 MB" in text


def test_the_command_refuses_a_binary_file_with_one_clear_line(org, tmp_path):
    source = tmp_path / "photo.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64)
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import_leads", str(source), org=org.slug, verbosity=0,
                     stdout=io.StringIO())
    assert not Lead.objects.exists()


# --- the console upload ----------------------------------------------------------------------


def upload(login_client, manager, data: bytes):
    return login_client(manager).post(
        "/admin/leads/lead/import/",
        {"file": SimpleUploadedFile("leads.csv", data, content_type="text/csv")},
    )


def test_the_console_upload_reports_hostile_rows_and_imports_the_rest(login_client, manager,
                                                                       org):
    response = upload(login_client, manager,
                      b"name,phone\nA\x00,+919876543210\n\xff,+919876543211\n"
                      + b"w" * (2 * 1024 * 1024) + b"\nMeera,+919876543212\n")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Null characters are not allowed." in page
    assert "Line 3 is not UTF-8 text" in page
    assert "Line 4 is longer than 1 MB" in page
    assert list(Lead.objects.for_org(org).values_list("name", flat=True)) == ["Meera"]


def test_the_console_upload_refuses_a_binary_file_on_the_form(login_client, manager):
    response = upload(login_client, manager, b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert response.status_code == 200
    assert "is not UTF-8 text" in response.content.decode()
    assert not Lead.objects.exists()


def test_the_report_fixed_and_imported_again_gives_back_the_cells_as_they_were(org, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_text("name,phone,budget_amount,budget_currency\n"
                      "=Asha,+919876543210,lots,INR\n", encoding="utf-8")
    report = tmp_path / "rejected.csv"
    call_command("import_leads", str(source), org=org.slug, report=str(report), verbosity=0,
                 stdout=io.StringIO())
    with report.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][2:] == ["'=Asha", "'+919876543210", "lots", "INR"]

    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(rows[0][2:])
        writer.writerow([*rows[1][2:4], "250000", "INR"])
    call_command("import_leads", str(fixed), org=org.slug, verbosity=0, stdout=io.StringIO())

    lead = Lead.objects.for_org(org).get()
    assert (lead.name, lead.phone) == ("=Asha", "+919876543210")


def test_an_upload_whose_form_fields_pass_the_memory_limit_is_a_400_not_a_500(
    login_client, manager, settings
):
    # Files may be larger on the upload path; the form's other fields may not: Django refuses
    # them while parsing, and that must be a 400.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = login_client(manager).post("/admin/leads/lead/import/", {
        "note": "n" * 4096,
        "file": SimpleUploadedFile("leads.csv", b"name,phone\nAsha,+919876543210\n",
                                   content_type="text/csv"),
    })
    assert response.status_code == 400
    assert not Lead.objects.exists()
