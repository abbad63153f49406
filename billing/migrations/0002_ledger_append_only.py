"""On PostgreSQL, the token ledger refuses UPDATE and DELETE at the database itself."""

from django.db import migrations

from flexoraa.append_only import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [append_only_operation("billing_tokenledgerentry", name="billing_ledger_append_only")]
