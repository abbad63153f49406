"""On PostgreSQL, the audit log refuses UPDATE and DELETE at the database itself."""

from django.db import migrations

from flexoraa.append_only import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("flexoraa", "0001_initial")]

    operations = [append_only_operation("flexoraa_auditevent", name="flexoraa_audit_append_only")]
