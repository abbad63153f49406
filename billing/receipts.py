"""Payments as rows of the CSV of receipts. No ORM: the rows are made from payments already
read, so the view can stream them as the database hands them over.

Every cell goes through the core's ``safe_row``, so a package name that starts like a formula
is text in a spreadsheet, as in every CSV the project writes.
"""

from datetime import tzinfo

from flexoraa.csv_cells import safe_row

HEADER = ("receipt", "date", "package", "tokens", "amount", "currency", "status",
          "razorpay_payment_id", "refunded_amount")


def plain_amount(paise: int) -> str:
    """99900 -> "999.00": no symbol and no thousands separator, so a spreadsheet reads a
    number."""
    return f"{paise // 100}.{paise % 100:02d}"


def receipt_row(payment, zone: tzinfo) -> list[str]:
    """One payment as a row under ``HEADER``; its date in the tenant's time zone (ISO 8601,
    with the offset)."""
    created = payment.created_at.astimezone(zone).isoformat(sep=" ", timespec="seconds")
    return safe_row((
        payment.receipt, created, payment.package.name, payment.tokens,
        plain_amount(payment.amount_paise), payment.currency, payment.status,
        payment.razorpay_payment_id or "", plain_amount(payment.refunded_paise),
    ))
