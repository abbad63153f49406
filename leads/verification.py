"""Contact verification (pure, no ORM): phone numbers through ``phonenumbers`` read in the
tenant's region, email syntax, and a list of throwaway mailbox domains.

A phone or email that cannot be a real address is an error the caller shows (``problems``); a
real-looking but doubtful one (a throwaway domain, a number of an unusual kind) is kept and
flagged in the stored result, with its reason.
"""

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

DISPOSABLE_DOMAINS_FILE = Path(__file__).parent / "data" / "disposable_domains.txt"

_NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed line",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed line or mobile",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll free",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium rate",
    phonenumbers.PhoneNumberType.VOIP: "VoIP",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared cost",
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "personal number",
    phonenumbers.PhoneNumberType.PAGER: "pager",
    phonenumbers.PhoneNumberType.UAN: "UAN",
    phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail",
}
# Kinds a person rarely gives as their own number.
_DOUBTFUL_TYPES = {"toll free", "premium rate", "shared cost", "pager", "UAN", "voicemail"}

_email_syntax = EmailValidator()


@cache
def disposable_domains() -> frozenset[str]:
    lines = DISPOSABLE_DOMAINS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class PhoneCheck:
    e164: str
    ok: bool
    kind: str
    region: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmailCheck:
    address: str
    ok: bool
    disposable: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactCheck:
    phone: PhoneCheck | None
    email: EmailCheck | None
    # field -> a reason a person can act on; any entry makes the input unusable.
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        checks = [check for check in (self.phone, self.email) if check is not None]
        if not checks or all(not check.ok for check in checks):
            return "failed"
        return "verified" if all(check.ok for check in checks) else "partial"

    def as_stored(self) -> dict:
        stored: dict = {}
        if self.phone is not None:
            stored["phone"] = {
                "ok": self.phone.ok, "kind": self.phone.kind, "region": self.phone.region,
                "reasons": list(self.phone.reasons),
            }
        if self.email is not None:
            stored["email"] = {
                "ok": self.email.ok, "disposable": self.email.disposable,
                "reasons": list(self.email.reasons),
            }
        return stored


def phone_check(raw: str, *, region: str) -> PhoneCheck | str:
    """A verified number, or the reason it cannot be one."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return (f"'{raw}' is not a phone number; give it with its country code, "
                f"like +91 98765 43210.")
    if not phonenumbers.is_possible_number(number):
        return f"'{raw}' has the wrong number of digits for a phone number."
    if not phonenumbers.is_valid_number(number):
        return f"'{raw}' is not a number in use in any numbering plan."
    kind = _NUMBER_TYPES.get(phonenumbers.number_type(number), "unknown")
    reasons = []
    if kind in _DOUBTFUL_TYPES:
        reasons.append(f"A {kind} number is rarely a person's own.")
    number_region = phonenumbers.region_code_for_number(number) or ""
    return PhoneCheck(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        ok=not reasons, kind=kind, region=number_region, reasons=tuple(reasons),
    )


def email_check(raw: str) -> EmailCheck | str:
    """A checked address (lower-cased), or the reason it cannot be one."""
    address = raw.strip().lower()
    if len(address) > 254:
        return "An email address has at most 254 characters."
    try:
        _email_syntax(address)
    except ValidationError:
        return f"'{raw}' is not an email address."
    domain = address.rsplit("@", 1)[1]
    parts = domain.split(".")
    suffixes = {".".join(parts[i:]) for i in range(len(parts) - 1)}
    disposable = bool(suffixes & disposable_domains())
    reasons = ("A throwaway mailbox: it may stop working within hours.",) if disposable else ()
    return EmailCheck(address=address, ok=not disposable, disposable=disposable, reasons=reasons)


def contact_check(
    *, phone: str = "", email: str = "", region: str = "IN", required: bool = True
) -> ContactCheck:
    """Check a phone and an email. ``required=False`` accepts neither (a messaging channel that
    reaches the person by its own id, such as Instagram)."""
    problems = {}
    phone_result = email_result = None
    if phone.strip():
        checked = phone_check(phone, region=region)
        if isinstance(checked, str):
            problems["phone"] = checked
        else:
            phone_result = checked
    if email.strip():
        checked = email_check(email)
        if isinstance(checked, str):
            problems["email"] = checked
        else:
            email_result = checked
    if required and not phone.strip() and not email.strip():
        problems["phone"] = "Give a phone number or an email address, so someone can reach them."
    return ContactCheck(phone=phone_result, email=email_result, problems=problems)
