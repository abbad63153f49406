"""The packages a development installation sells (platform data: every tenant sees them).

Created only outside production and only when no package exists yet, so packages and prices
that superusers set are never touched; production sets its own catalogue.
"""

from django.conf import settings
from django.db import migrations

DEFAULT_PACKAGES = [
    # name, tokens, price in paise, sort order
    ("Starter", 10_000, 99_900, 10),
    ("Growth", 60_000, 499_900, 20),
    ("Scale", 150_000, 999_900, 30),
]


def create_packages(apps, schema_editor):
    if getattr(settings, "PRODUCTION", False):
        return
    TokenPackage = apps.get_model("billing", "TokenPackage")
    if TokenPackage.objects.exists():
        return
    TokenPackage.objects.bulk_create([
        TokenPackage(name=name, tokens=tokens, price_paise=price, currency="INR",
                     is_active=True, sort_order=order)
        for name, tokens, price, order in DEFAULT_PACKAGES
    ])


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_ledger_append_only")]

    # Reversing keeps the rows: payments point at them.
    operations = [migrations.RunPython(create_packages, migrations.RunPython.noop)]
