"""CSV import: the reader (line numbers, BOM, header checks, merges), the import_leads
command (output, report file, exit codes) and the upload in the manager console."""

import csv
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from flexoraa.models import Role
from leads import csv_import
from leads.errors import CsvHeaderRefused
from leads.models import Lead, LeadEvent, Source
from tests.factories import SETUP_ACTOR, UserFactory, make_membership
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
HEADER = "name,phone,email,need,budget_amount,budget_currency,authority,timeline"


def as_file(text: str, *, bom: bool = False) -> io.BytesIO:
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def run_import(org, text: str, **kwargs) -> csv_import.ImportReport:
    return csv_import.leads_import_csv(org=org, file=as_file(text),
                                       **{"actor": SETUP_ACTOR, **kwargs})


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def rejected_lines(report) -> list[int]:
    return [row.line for row in report.rejected]


# --- The reader -----------------------------------------------------------------------------


def test_good_rows_are_imported_and_bad_rows_reported_by_line(org):
    report = run_import(org, lines(
        HEADER,
        "Asha Rao,+91 98765 43210,asha@example.com,CRM for 20 reps,250000,INR,"
        "decision_maker,month",
        "Ravi Iyer,,ravi@example.com,,,,,",
        "Bad Phone,12,,,,,,",
        "Meera Das,98200 11999,,,,,influencer,immediate",
    ))
    assert (report.created, report.merged, report.total) == (3, 0, 4)
    assert [(row.line, row.reason) for row in report.rejected] == [
        (4, "phone: '12' has the wrong number of digits for a phone number."),
    ]
    assert report.rejected[0].cells == ("Bad Phone", "12", "", "", "", "", "", "")
    asha = Lead.objects.for_org(org).get(email="asha@example.com")
    assert (asha.phone, asha.source, asha.budget_amount, asha.authority, asha.timeline) == (
        "+919876543210", Source.CSV_IMPORT, Decimal("250000"), "decision_maker", "month")
    assert Lead.objects.for_org(org).get(phone="+919820011999").name == "Meera Das"


def test_a_quoted_multi_line_field_keeps_the_line_numbers_right(org):
    report = run_import(org, lines(
        "name,phone,need",
        'Asha,+919876543210,"first line',
        "second line",
        'third line"',
        "Bad,12,",
        '"Two-line',
        'name",13,',
        "Good,+919876543211,",
    ))
    assert rejected_lines(report) == [5, 6]  # a multi-line row is reported where it starts
    assert report.created == 2
    need = Lead.objects.for_org(org).get(phone="+919876543210").need
    assert need == "first line\nsecond line\nthird line"


def test_windows_and_old_mac_line_endings_count_lines_the_same(org):
    text = 'name,phone\r\nA,+919876543210\r\n"B\r\nB",12\r\nC,13\rD,+919876543212\r'
    report = run_import(org, text)
    assert rejected_lines(report) == [3, 5]
    assert report.created == 2


def test_a_byte_order_mark_is_handled(org):
    report = csv_import.leads_import_csv(
        org=org, file=as_file(lines("Name,Phone", "Asha,+919876543210"), bom=True),
        actor=SETUP_ACTOR,
    )
    assert report.created == 1 and report.header == ("Name", "Phone")
    assert Lead.objects.for_org(org).get().name == "Asha"


def test_headers_ignore_letter_case_spaces_and_order(org):
    report = run_import(org, lines(" EMAIL , Budget Amount,budget_currency ,Name",
                                   "asha@example.com,\"2,50,000\",inr,Asha"))
    lead = Lead.objects.for_org(org).get()
    assert report.created == 1
    assert (lead.email, lead.budget_amount, lead.budget_currency, lead.name) == (
        "asha@example.com", Decimal("250000"), "INR", "Asha")


def test_an_unknown_column_is_refused_before_anything_is_imported(org):
    with pytest.raises(CsvHeaderRefused) as refused:
        run_import(org, lines("name,phone,Company", "Asha,+919876543210,Acme"))
    message = refused.value.message
    assert "Unknown column 'Company'" in message
    assert "name, phone, email, need, budget_amount, budget_currency, authority, timeline" in (
        message)
    assert not Lead.objects.exists()


@pytest.mark.parametrize(("header", "reason"), [
    ("name,need", "needs a phone or an email column"),
    ("name,phone,Phone", "The column 'phone' appears twice"),
    ("name,,phone", "Column 2 of the header has no name"),
    ("", "The file is empty"),
])
def test_a_header_that_cannot_work_is_refused(org, header, reason):
    with pytest.raises(CsvHeaderRefused, match=reason):
        run_import(org, lines(header, "Asha,+919876543210,x") if header else "")
    assert not Lead.objects.exists()


def test_duplicate_rows_within_the_file_merge_into_one_lead(org):
    report = run_import(org, lines(
        "name,phone,email,need",
        "Asha,+919876543210,,First ask",
        ",+91 98765 43210,asha@example.com,Second ask",
    ))
    assert (report.created, report.merged, report.rejected) == (1, 1, ())
    lead = Lead.objects.for_org(org).get()
    assert (lead.name, lead.email, lead.need) == ("Asha", "asha@example.com", "Second ask")
    assert lead.events.filter(kind=LeadEvent.Kind.MERGED).count() == 1


def test_a_row_matching_an_existing_lead_is_counted_as_merged(org):
    make_lead(org, phone="+919876543210")
    report = run_import(org, lines("phone,timeline", "+919876543210,quarter"))
    assert (report.created, report.merged) == (0, 1)


def test_rows_with_too_many_or_too_few_cells_are_rejected_and_blank_rows_skipped(org):
    report = run_import(org, lines(
        "name,phone",
        "A,+919876543210,extra",
        "",
        ",",
        "B",
        "C,+919876543211",
    ))
    assert [(row.line, row.reason) for row in report.rejected] == [
        (2, "This row has 3 cell(s) but the header names 2 column(s)."),
        (5, "This row has 1 cell(s) but the header names 2 column(s)."),
    ]
    assert (report.created, report.total) == (1, 3)


def test_a_row_that_is_not_utf8_is_rejected_and_the_rest_imported(org):
    data = (b"name,phone\n" + "Zoë,+919876543210\n".encode("cp1252")
            + "Zoë,+919876543211\n".encode())
    report = csv_import.leads_import_csv(org=org, file=io.BytesIO(data), actor=SETUP_ACTOR)
    assert rejected_lines(report) == [2]
    assert "not UTF-8" in report.rejected[0].reason
    assert Lead.objects.for_org(org).get().name == "Zoë"


def test_a_header_that_is_not_utf8_is_refused(org):
    data = "Nomé,phone\n".encode("cp1252")
    with pytest.raises(CsvHeaderRefused, match="not UTF-8"):
        csv_import.leads_import_csv(org=org, file=io.BytesIO(data), actor=SETUP_ACTOR)


def test_a_row_with_a_null_character_is_rejected(org):
    report = run_import(org, lines("name,phone", "A\x00,+919876543210"))
    assert report.rejected[0].reason == "name: Null characters are not allowed."
    assert not Lead.objects.exists()


def test_an_email_longer_than_its_column_is_rejected_not_a_crash(org):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    report = run_import(org, lines("name,email", f"A,{email}", "B,b@example.com"))
    assert [(row.line, row.reason) for row in report.rejected] == [
        (2, "email: Keep the email address to 254 characters.")]
    assert report.created == 1


def test_progress_is_reported_per_record_up_to_the_counted_total(org):
    text = lines("name,phone", "A,+919876543210", "", '"B', 'B",+919876543211', "C,12")
    seen = []
    run_import(org, text, progress=seen.append)
    assert seen == [1, 2, 3, 4]
    assert csv_import.count_rows(as_file(text)) == 4


def test_the_file_is_read_in_chunks_not_whole(org, monkeypatch):
    monkeypatch.setattr(csv_import, "_READ_CHUNK_BYTES", 7)
    reads = []

    class Spy(io.BytesIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    text = lines("name,phone", 'Asha,+919876543210', '"Ravi\r\nIyer",+919876543211', "Bad,12")
    report = csv_import.leads_import_csv(org=org, file=Spy(text.encode()), actor=SETUP_ACTOR)
    assert set(reads) == {7}
    assert (report.created, rejected_lines(report)) == (2, [5])


def test_rows_go_to_the_given_organization_only(org, other_org):
    run_import(org, lines("phone", "+919876543210"))
    assert Lead.objects.for_org(org).count() == 1
    assert not Lead.objects.for_org(other_org).exists()


# --- The command ----------------------------------------------------------------------------


@pytest.fixture
def leads_csv(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(lines(
        HEADER,
        "Asha Rao,+91 98765 43210,asha@example.com,,,,,",
        "Ravi,,ravi@example.com,,,,,",
        "Bad Phone,12,,,,,,",
        "Asha again,+919876543210,,More seats,,,,",
        'Bad Budget,+919876543219,,"multi\nline need",lots,INR,,',
        "Dev,98200 11999,,,,,,",
        "Wrong,+919876543218,,,,,,soonish",
    ), encoding="utf-8")
    return path


def call(*args, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", *args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_and_prints_a_summary_with_each_rejected_row(org, leads_csv):
    out, err = call(str(leads_csv), "--org", "acme")
    assert "leads.csv: 7 row(s) read into Acme Leads (acme)." in out
    assert "created:                    3" in out
    assert "merged into existing leads: 1" in out
    assert "rejected:                   3" in out
    assert "line 4: phone: '12' has the wrong number of digits for a phone number." in out
    assert "line 6: budget_amount: Give the budget as a number, like 250000." in out
    assert "line 9: timeline: Unknown timeline 'soonish'" in out
    assert Lead.objects.for_org(org).count() == 3
    # Not a terminal: a progress line per tenth, ending at the total.
    progress = err.strip().splitlines()
    assert progress[-1].startswith("Importing leads [") and "7/7 100%" in progress[-1]
    assert "\r" not in err


def test_the_report_file_holds_each_rejected_row_with_its_cells(org, leads_csv, tmp_path):
    report = tmp_path / "rejected.csv"
    out, _ = call(str(leads_csv), "--org", "acme", "--report", str(report))
    assert f"Rejected rows written to {report}." in out
    with report.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["line", "reason", *HEADER.split(",")]
    assert [row[0] for row in rows[1:]] == ["4", "6", "9"]
    assert rows[2][1] == "budget_amount: Give the budget as a number, like 250000."
    # The phone starts with +, which a spreadsheet would run as a formula: written as text.
    assert rows[2][2:] == ["Bad Budget", "'+919876543219", "", "multi\nline need", "lots",
                           "INR", "", ""]


@pytest.mark.parametrize(("args", "message"), [
    (["--org", "nobody"], "No organization with the slug 'nobody'."),
    (["--org", "acme", "--report", "/nonexistent/dir/r.csv"], "Cannot write the report"),
])
def test_the_command_refuses_clearly_before_importing(org, leads_csv, args, message):
    with pytest.raises(CommandError, match=message):
        call(str(leads_csv), *args)
    assert not Lead.objects.exists()


def test_a_missing_file_or_a_bad_header_is_a_command_error(org, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call(str(tmp_path / "nope.csv"), "--org", "acme")
    bad = tmp_path / "bad.csv"
    bad.write_text(lines("name,phone,city", "Asha,+919876543210,Pune"))
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError, match=r"bad\.csv: Unknown column 'city'"):
        call(str(bad), "--org", "acme", "--report", str(report))
    assert not Lead.objects.exists()
    assert not report.exists()


def test_strict_fails_when_rows_were_rejected_after_importing_the_rest(org, leads_csv):
    with pytest.raises(CommandError, match=r"3 row\(s\) were rejected") as failed:
        call(str(leads_csv), "--org", "acme", "--strict")
    assert failed.value.returncode == 1
    assert Lead.objects.for_org(org).count() == 3


def test_quiet_runs_draw_no_progress(org, leads_csv):
    _, err = call(str(leads_csv), "--org", "acme", verbosity=0)
    assert err == ""


def _embedded_env(var_dir: Path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ENV"}}
    env["FLEXORAA_VAR_DIR"] = str(var_dir)
    return env


def test_manage_py_exits_0_with_rejected_rows_and_1_when_strict_or_refused(leads_csv, tmp_path):
    # A real process on its own embedded database: the exit status is what a shell sees.
    env = _embedded_env(tmp_path / "var")
    manage = [sys.executable, "manage.py"]

    def run(*args):
        return subprocess.run([*manage, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    assert run("migrate", "--noinput").returncode == 0
    created = run("shell", "-c", "from flexoraa import services; "
                  "from flexoraa.actors import Actor; "
                  "services.organization_create(name='Acme Leads', slug='acme', "
                  "actor=Actor.system('test:setup'))")
    assert created.returncode == 0, created.stderr

    ran = run("import_leads", str(leads_csv), "--org", "acme")
    assert ran.returncode == 0, ran.stderr
    assert "rejected:                   3" in ran.stdout
    assert "100%" in ran.stderr

    strict = run("import_leads", str(leads_csv), "--org", "acme", "--strict")
    assert strict.returncode == 1
    assert "3 row(s) were rejected" in strict.stderr

    unknown = run("import_leads", str(leads_csv), "--org", "nobody")
    assert unknown.returncode == 1
    assert "No organization with the slug 'nobody'." in unknown.stderr

    missing = run("import_leads", str(tmp_path / "nope.csv"), "--org", "acme")
    assert missing.returncode == 1
    assert "No such file" in missing.stderr


# --- The manager console --------------------------------------------------------------------

IMPORT_URL = "/admin/leads/lead/import/"


def upload(name="leads.csv", text=None):
    text = text if text is not None else lines("name,phone", "Asha,+919876543210", "Bad,12")
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_the_lead_list_offers_the_import_button_to_a_manager(login_client, manager):
    page = login_client(manager).get("/admin/leads/lead/").content.decode()
    assert f'href="{IMPORT_URL}"' in page and "Import leads from CSV" in page


def test_a_manager_imports_into_their_own_organization(login_client, manager, org, other_org):
    console = login_client(manager)
    page = console.get(IMPORT_URL)
    assert page.status_code == 200
    assert "budget_currency" in page.content.decode()  # the column guide
    assert 'name="organization"' not in page.content.decode()

    response = console.post(IMPORT_URL, {"file": upload(), "organization": other_org.pk})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Imported into Acme Leads" in body
    assert "<td>2</td>" in body and "<td>1</td>" in body
    assert "<td>3</td><td>phone: &#x27;12&#x27; has the wrong number of digits" in body
    lead = Lead.objects.get()
    assert (lead.organization, lead.source) == (org, Source.CSV_IMPORT)
    assert lead.events.get(kind=LeadEvent.Kind.CREATED).actor == manager


def test_a_superuser_picks_the_organization(client, org, other_org):
    admin_user = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin_user)
    assert 'name="organization"' in client.get(IMPORT_URL).content.decode()
    missing = client.post(IMPORT_URL, {"file": upload()})
    assert "This field is required." in missing.content.decode()
    assert not Lead.objects.exists()
    client.post(IMPORT_URL, {"file": upload(), "organization": other_org.pk})
    assert Lead.objects.get().organization == other_org


def test_a_bad_header_is_shown_on_the_upload_form(login_client, manager):
    response = login_client(manager).post(
        IMPORT_URL, {"file": upload(text=lines("name,phone,city", "A,+919876543210,Pune"))}
    )
    assert response.status_code == 200
    assert "Unknown column &#x27;city&#x27;" in response.content.decode()
    assert not Lead.objects.exists()


def test_an_upload_over_the_limit_is_refused_with_its_size(login_client, manager, monkeypatch):
    monkeypatch.setattr(csv_import, "CSV_UPLOAD_MAX_BYTES", 20)
    response = login_client(manager).post(IMPORT_URL, {"file": upload()})
    body = response.content.decode()
    assert "This file is 37\xa0bytes; the limit is 20\xa0bytes." in body
    assert not Lead.objects.exists()


def test_an_sdr_cannot_import(login_client, sdr, org):
    console = login_client(sdr)
    response = console.post(IMPORT_URL, {"file": upload()})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # Even with console access from managing another tenant, not in this one.
    other = make_membership(org, role=Role.SDR)
    other.user.is_staff = True
    other.user.save(update_fields=["is_staff"])
    assert login_client(other).post(IMPORT_URL, {"file": upload()}).status_code == 403
    assert not Lead.objects.exists()
