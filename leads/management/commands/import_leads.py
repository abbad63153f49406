import csv
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flexoraa.actors import Actor
from flexoraa.csv_cells import safe_row
from flexoraa.models import Organization
from flexoraa.progress import ProgressBar
from leads import csv_import
from leads.errors import CsvHeaderRefused


class Command(BaseCommand):
    help = (
        "Import leads from a UTF-8 CSV file with a header row into one organization (fields "
        "separated by commas, or by semicolons or tabs: the header tells which). Columns "
        f"(any order and case): {', '.join(csv_import.COLUMNS)}; a phone or an email column "
        "is required. Each row is taken in on its own: rejected rows are listed by line and "
        "the rest are imported. Exits 0 when the import ran, even with rejected rows, unless "
        "--strict is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument("--org", required=True, metavar="SLUG",
                            help="Slug of the organization the leads belong to.")
        parser.add_argument("--report", metavar="FILE",
                            help="Write the rejected rows (line, reason and the original "
                                 "cells) to this CSV file.")
        parser.add_argument("--strict", action="store_true",
                            help="Exit with status 1 when any row was rejected.")

    def handle(self, *args, file: str, org: str, report: str | None = None,
               strict: bool = False, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the slug '{org}'.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            with path.open("rb") as stream:
                total = csv_import.count_rows(stream)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc

        # Opened before importing: a report that cannot be written fails before any row is
        # taken in, not after.
        report_file = self._open_report(report) if report else None
        result = None
        try:
            result = self._import(path, organization, total, options)
            self._summary(path, organization, result)
            if report_file is not None:
                self._write_report(report_file, result)
                self.stdout.write(f"Rejected rows written to {report}.")
        finally:
            if report_file is not None:
                report_file.close()
                if result is None:  # nothing was imported: leave no empty report behind
                    Path(report).unlink(missing_ok=True)
        if strict and result.rejected:
            raise CommandError(
                f"{len(result.rejected)} row(s) were rejected, and --strict makes that a "
                f"failure.", returncode=1,
            )

    def _import(self, path: Path, organization: Organization, total: int,
                options: dict) -> csv_import.ImportReport:
        # The bar goes to the real stderr: Django's wrapper would end every redraw with a
        # newline. call_command(stderr=...) hands its own stream in the options.
        bar = None
        if options.get("verbosity", 1) > 0:
            bar = ProgressBar(total, options.get("stderr") or sys.stderr, "Importing leads")
        try:
            with path.open("rb") as stream:
                result = csv_import.leads_import_csv(
                    org=organization, file=stream, actor=Actor.system("command:import_leads"),
                    progress=bar.update if bar else None,
                )
        except CsvHeaderRefused as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        if bar is not None:
            bar.finish()
        return result

    def _summary(self, path: Path, organization: Organization,
                 result: csv_import.ImportReport) -> None:
        self.stdout.write(
            f"{path.name}: {result.total} row(s) read into {organization.name} "
            f"({organization.slug})."
        )
        if result.delimiter != ",":
            self.stdout.write(f"  The file separates its fields with {result.delimiter_name}s "
                              f"rather than commas; it was read that way.")
        self.stdout.write(f"  created:                    {result.created}")
        self.stdout.write(f"  merged into existing leads: {result.merged}")
        self.stdout.write(f"  rejected:                   {len(result.rejected)}")
        if result.rejected:
            self.stdout.write(self.style.WARNING("Rejected rows:"))
            for row in result.rejected:
                self.stdout.write(f"  line {row.line}: {row.reason}")
        else:
            self.stdout.write(self.style.SUCCESS("Every row was imported."))

    @staticmethod
    def _open_report(report_path: str):
        try:
            # With a byte-order mark, so Excel reads it as UTF-8 (and the importer takes it
            # back once the line and reason columns are removed).
            return open(report_path, "w", newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(
                f"Cannot write the report to {report_path}: {exc.strerror or exc}."
            ) from exc

    @staticmethod
    def _write_report(report_file, result: csv_import.ImportReport) -> None:
        # Every cell, the file's own header included, through the one formula guard: the
        # rejected rows are the file's hostile cells, and a manager opens this in a spreadsheet.
        writer = csv.writer(report_file)
        writer.writerow(safe_row(["line", "reason", *result.header]))
        for row in result.rejected:
            writer.writerow(safe_row([row.line, row.reason, *row.cells]))
