"""Token economy use cases. Every balance change goes through wallet_debit / wallet_credit."""

from billing.services.alerts import low_balance_alerts_send, wallet_threshold_update
from billing.services.payments import (
    payment_checkout_confirm,
    payment_order_create,
    razorpay_event_apply,
)
from billing.services.pricing import action_price_set
from billing.services.wallet import (
    LedgerResult,
    action_price,
    ai_action_charge,
    wallet_credit,
    wallet_debit,
    wallet_ensure,
)

__all__ = [
    "LedgerResult",
    "action_price",
    "action_price_set",
    "ai_action_charge",
    "low_balance_alerts_send",
    "payment_checkout_confirm",
    "payment_order_create",
    "razorpay_event_apply",
    "wallet_credit",
    "wallet_debit",
    "wallet_ensure",
    "wallet_threshold_update",
]
