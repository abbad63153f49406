"""Contact verification: phones read in the tenant's region, email syntax, throwaway domains."""

import pytest

from leads.verification import contact_check, email_check, phone_check


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("98765 43210", "IN", "+919876543210"),
        ("098765-43210", "IN", "+919876543210"),
        ("+91 98765 43210", "US", "+919876543210"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("+44 20 7946 0958", "IN", "+442079460958"),
    ],
)
def test_phone_numbers_are_read_in_the_tenants_region_and_stored_as_e164(raw, region, e164):
    checked = phone_check(raw, region=region)
    assert not isinstance(checked, str), checked
    assert checked.e164 == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("12", "wrong number of digits"), ("call me", "not a phone number"),
     ("+1 555 555 5555", "not a number in use")],
)
def test_impossible_phone_numbers_are_refused_with_a_reason(raw, reason):
    checked = phone_check(raw, region="IN")
    assert isinstance(checked, str) and reason in checked


def test_a_toll_free_number_is_kept_but_flagged():
    checked = phone_check("1800 180 1961", region="IN")
    assert not isinstance(checked, str)
    assert checked.ok is False and checked.kind == "toll free"
    assert "rarely a person's own" in checked.reasons[0]


def test_email_is_lower_cased_and_throwaway_domains_are_flagged():
    good = email_check("  Asha@Example.COM ")
    assert good.address == "asha@example.com" and good.ok and not good.disposable
    throwaway = email_check("someone@mailinator.com")
    assert throwaway.disposable and not throwaway.ok
    sub = email_check("x@inbox.guerrillamail.com")
    assert sub.disposable


@pytest.mark.parametrize("raw", ["asha@", "asha example.com", "@example.com", "a@b"])
def test_malformed_email_is_refused(raw):
    assert isinstance(email_check(raw), str)


def test_contact_check_needs_a_phone_or_an_email():
    checked = contact_check(region="IN")
    assert "phone" in checked.problems and checked.status == "failed"


def test_contact_check_status_reflects_both_checks():
    assert contact_check(phone="9876543210", email="a@example.com").status == "verified"
    assert contact_check(phone="9876543210", email="a@yopmail.com").status == "partial"
    stored = contact_check(phone="9876543210", email="a@yopmail.com").as_stored()
    assert stored["email"] == {
        "ok": False, "disposable": True,
        "reasons": ["A throwaway mailbox: it may stop working within hours."],
    }
    assert stored["phone"]["kind"] == "mobile" and stored["phone"]["region"] == "IN"
