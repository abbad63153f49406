"""Payments as rows of the CSV of receipts. No ORM: the rows are made from payments already
read, so the view can stream them as the database hands them over.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as a formula;
such a cell is written with a leading apostrophe, which spreadsheets show as text (OWASP's
advice against CSV injection).
"""

from datetime import tzinfo

HEADER = ("receipt", "date", "package", "tokens", "amount", "currency", "status",
          "razorpay_payment_id", "refunded_amount")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """A value as CSV text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def plain_amount(paise: int) -> str:
    """99900 -> "999.00": no symbol and no thousands separator, so a spreadsheet reads a
    number."""
    return f"{paise // 100}.{paise % 100:02d}"


def receipt_row(payment, zone: tzinfo) -> list[str]:
    """One payment as a row under ``HEADER``; its date in the tenant's time zone (ISO 8601,
    with the offset)."""
    created = payment.created_at.astimezone(zone).isoformat(sep=" ", timespec="seconds")
    return [cell(value) for value in (
        payment.receipt, created, payment.package.name, payment.tokens,
        plain_amount(payment.amount_paise), payment.currency, payment.status,
        payment.razorpay_payment_id or "", plain_amount(payment.refunded_paise),
    )]
