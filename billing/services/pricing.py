"""What each AI action costs in a tenant: managers set their own prices in the console."""

from django.db import IntegrityError, transaction

from billing.models import ActionPrice, AiAction
from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import Organization
from flexoraa.services import audit_event_record

MAX_PRICE = 1_000_000


def _check_price(*, action: str, tokens: int) -> None:
    if action not in AiAction.values:
        raise ValidationFailed(f"action: Unknown AI action '{action}'.",
                               fields={"action": [f"Choose one of {', '.join(AiAction.values)}."]})
    if not isinstance(tokens, int) or isinstance(tokens, bool) or not 0 <= tokens <= MAX_PRICE:
        raise ValidationFailed(
            f"tokens: Give a whole number of tokens from 0 (free) to {MAX_PRICE:,}.",
            fields={"tokens": [f"From 0 to {MAX_PRICE:,}."]},
        )


def action_price_set(
    *, org: Organization, action: str, tokens: int, actor: Actor
) -> ActionPrice:
    """Set how many tokens one unit of ``action`` costs in the tenant; its first price is
    created, a later one replaces it (one row per action, under a row lock). 0 makes the
    action free. Charges already in the ledger keep the price they were made at.

    Raises ``ValidationFailed`` for an unknown action or a price outside 0 to 1,000,000.
    """
    _check_price(action=action, tokens=tokens)
    with transaction.atomic():
        price = ActionPrice.objects.for_org(org).select_for_update().filter(action=action).first()
        was = None if price is None else price.tokens
        if price is None:
            try:
                with transaction.atomic():
                    price = ActionPrice.objects.create(organization=org, action=action,
                                                       tokens=tokens)
            except IntegrityError:
                # A concurrent first price of this action committed first: ours replaces it.
                price = ActionPrice.objects.for_org(org).select_for_update().get(action=action)
                was = price.tokens
        if was is not None:
            if was == tokens:
                return price
            price.tokens = tokens
            price.save(update_fields=["tokens"])
        audit_event_record(org=org, actor=actor, action="action_price.set", target=price,
                           data={"action": action, "tokens": tokens, "was": was})
    return price
