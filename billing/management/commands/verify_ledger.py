from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_checks


class Command(BaseCommand):
    help = "Check balance = Σ ledger for every tenant; exits 1 naming each mismatch."

    def handle(self, *args, **options):
        checks = ledger_checks()
        bad = [check for check in checks if not check.ok]
        for check in checks:
            mark = "ok" if check.ok else "MISMATCH"
            last = "-" if check.last_balance_after is None else f"{check.last_balance_after:,}"
            self.stdout.write(
                f"{check.slug:<24} balance {check.balance:>14,}  Σ ledger {check.ledger_sum:>14,}"
                f"  last entry {last:>14}  {mark}"
            )
        self.stdout.write(f"{len(checks)} wallet(s) checked, {len(bad)} mismatch(es).")
        if bad:
            raise CommandError(
                "Ledger mismatch in: " + ", ".join(check.slug for check in bad)
            )
