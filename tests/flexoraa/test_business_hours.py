from datetime import time

import pytest
from django.core.exceptions import ValidationError

from flexoraa.business_hours import parse_business_hours
from flexoraa.models import Organization


def test_business_hours_parse_to_weekday_spans():
    hours = parse_business_hours({"mon": ["09:00", "18:00"], "sat": ["10:30", "14:00"]})
    assert hours == {0: (time(9), time(18)), 5: (time(10, 30), time(14))}


def test_no_business_hours_means_always_open():
    assert parse_business_hours({}) == {}


@pytest.mark.parametrize(("value", "message"), [
    (["09:00", "18:00"], "mapping"),
    ({"monday": ["09:00", "18:00"]}, "Unknown day(s) monday"),
    ({"mon": "09:00-18:00"}, "opening and a closing time"),
    ({"mon": ["09:00"]}, "opening and a closing time"),
    ({"mon": ["9am", "18:00"]}, "'9am' is not a time"),
    ({"mon": ["25:00", "26:00"]}, "'25:00' is not a time"),
    ({"mon": [9, 18]}, "times are strings"),
    ({"mon": ["18:00", "09:00"]}, "not after the opening time"),
])
def test_malformed_business_hours_say_what_is_wrong(value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_business_hours(value)


@pytest.mark.django_db
def test_an_organization_with_bad_settings_does_not_validate(org):
    org.business_hours = {"fri": ["17:00", "09:00"]}
    org.timezone = "Mars/Olympus"
    org.country = "india"
    with pytest.raises(ValidationError) as excinfo:
        org.full_clean()
    assert set(excinfo.value.message_dict) == {"business_hours", "timezone", "country"}


@pytest.mark.django_db
def test_a_manager_fixing_business_hours_in_the_console_gets_the_reason(client, org, manager):
    client.force_login(manager.user)
    response = client.post(f"/admin/flexoraa/organization/{org.pk}/change/", {
        "name": org.name, "timezone": "Asia/Kolkata", "country": "IN",
        "business_hours": '{"mon": ["18:00", "09:00"]}', "settings": "{}",
    })
    assert response.status_code == 200
    assert "not after the opening time" in response.content.decode()
    response = client.post(f"/admin/flexoraa/organization/{org.pk}/change/", {
        "name": org.name, "timezone": "Asia/Kolkata", "country": "IN",
        "business_hours": '{"mon": ["09:00", "18:00"]}', "settings": "{}",
    })
    assert response.status_code == 302
    assert Organization.objects.get(pk=org.pk).business_hours == {"mon": ["09:00", "18:00"]}
