from django.db import migrations

# The Meta and Razorpay redrives became the one webhook inbox's redrive
# (flexoraa.webhook_deliveries_redrive); their beat rows would send tasks no worker knows.
RETIRED = ("agents.meta_deliveries_redrive", "billing.razorpay_events_redrive")


def retire(apps, schema_editor):
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    periodic_task.objects.filter(name__in=RETIRED).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("flexoraa", "0008_webhook_delivery_life"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(retire, migrations.RunPython.noop),
    ]
