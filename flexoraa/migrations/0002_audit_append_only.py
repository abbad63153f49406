"""On PostgreSQL, the audit log refuses UPDATE and DELETE at the database itself."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION flexoraa_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'flexoraa_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER flexoraa_audit_append_only
    BEFORE UPDATE OR DELETE ON flexoraa_auditevent
    FOR EACH ROW EXECUTE FUNCTION flexoraa_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS flexoraa_audit_append_only ON flexoraa_auditevent;
DROP FUNCTION IF EXISTS flexoraa_audit_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("flexoraa", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
