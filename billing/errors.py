"""Errors of the token economy; the API turns each into the one JSON error shape."""

from flexoraa.errors import Conflict, FlexoraaError, ValidationFailed


class InsufficientTokens(FlexoraaError):
    """The wallet cannot pay for the action (402, with the balance and the shortfall)."""

    status_code = 402
    code = "insufficient_tokens"

    def __init__(self, *, balance: int, needed: int):
        self.balance = balance
        self.needed = needed
        self.shortfall = needed - balance
        super().__init__(
            f"This needs {needed:,} tokens but the wallet holds {balance:,}; buy at least "
            f"{self.shortfall:,} more.",
            extra={"balance": balance, "needed": needed, "shortfall": self.shortfall},
        )


class IdempotencyKeyReused(Conflict):
    """The key was used before for a different change (409)."""

    code = "idempotency_key_reused"


class PaymentRefused(ValidationFailed):
    """A payment that cannot be accepted: bad signature, amount mismatch, unknown order (400)."""

    code = "payment_refused"


class PaymentProviderUnavailable(FlexoraaError):
    """Razorpay could not be reached or answered with an error (502)."""

    status_code = 502
    code = "payment_provider_unavailable"
