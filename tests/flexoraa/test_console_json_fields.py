"""JSON a manager types in the console (the organization's business hours and settings) is
read like every JSON body: too deep, not JSON, or text the database cannot store is a reason
on the form, never a 500, and nothing is saved."""

import html

import pytest

from flexoraa.form_fields import BoundedJSONFormField
from flexoraa.models import Organization

pytestmark = pytest.mark.django_db


def save_org(client, org, **values):
    data = {"name": org.name, "timezone": "Asia/Kolkata", "country": "IN",
            "business_hours": "{}", "settings": "{}", **values}
    return client.post(f"/admin/flexoraa/organization/{org.pk}/change/", data)


@pytest.mark.parametrize(("field", "typed", "reason"), [
    ("business_hours", "[" * 100_000 + "]" * 100_000,
     "This nests lists and objects more than 32 levels deep; no setting needs more than a few."),
    ("settings", '{"a": ' * 40 + "1" + "}" * 40,
     "This nests lists and objects more than 32 levels deep; no setting needs more than a few."),
    ("settings", '{"greeting": "Hi\\u0000"}',
     "At greeting: Contains a NUL character (U+0000), which cannot be stored; remove it and "
     "send the text again."),
    ("settings", '{"greeting": "\\ud800"}',
     "At greeting: Contains an unpaired surrogate (U+D800), which is not valid Unicode text; "
     "send the text as valid UTF-8."),
    ("settings", '{"\\udc00": 1}',
     "At \ufffd: this key contains an unpaired surrogate (U+DC00), which is not valid Unicode "
     "text; send the text as valid UTF-8."),
    ("settings", '{"limit": NaN}',
     "At limit: NaN and Infinity are not JSON numbers; send a finite number."),
    ("business_hours", '{"mon": ["09:00"',
     "This is not JSON: Expecting ',' delimiter at line 1, column 17."),
])
def test_json_no_setting_takes_is_a_reason_on_the_form(client, org, manager, field, typed,
                                                       reason):
    client.force_login(manager.user)
    response = save_org(client, org, **{field: typed})
    assert response.status_code == 200
    assert reason in html.unescape(response.content.decode())
    saved = Organization.objects.get(pk=org.pk)
    assert (saved.business_hours, saved.settings) == (org.business_hours, org.settings)


def test_good_json_is_still_saved(client, org, manager):
    client.force_login(manager.user)
    response = save_org(client, org, business_hours='{"mon": ["09:00", "18:00"]}',
                        settings='{"greeting": "Zoë \\ud83d\\ude00"}')
    assert response.status_code == 302
    saved = Organization.objects.get(pk=org.pk)
    assert saved.settings == {"greeting": "Zoë \U0001f600"}


def test_every_console_form_reads_json_through_the_bounded_field(admin_client):
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(is_superuser=True)  # admin_client's user
    request.organization = None
    checked = []
    for model, model_admin in admin.site._registry.items():
        json_fields = [field.name for field in model._meta.get_fields()
                       if field.get_internal_type() == "JSONField" and field.editable]
        if not json_fields:
            continue
        form = model_admin.get_form(request, fields=json_fields)
        for name in json_fields:
            if name in form.base_fields:
                assert isinstance(form.base_fields[name], BoundedJSONFormField), (model, name)
                checked.append((model.__name__, name))
    assert ("Organization", "business_hours") in checked
