# The SLA warning's time on the lead, with a partial index of the warnings still to send.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0004_leadevent_leak_kept"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="first_response_warn_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("first_response_warn_at__isnull", False)),
                fields=["first_response_warn_at"], name="lead_sla_warn",
            ),
        ),
    ]
