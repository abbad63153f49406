"""How the token economy's numbers read on a page."""

from django import template

from billing.models import AiAction

register = template.Library()

SYMBOLS = {"INR": "₹"}


@register.filter
def money(paise, currency="INR"):
    """999900, "INR" -> "₹9,999.00"; other currencies keep their code: "12.50 USD"."""
    try:
        amount = f"{int(paise) / 100:,.2f}"
    except (TypeError, ValueError):
        return ""
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


@register.filter
def thousands(number):
    """60000 -> "60,000"."""
    try:
        return f"{int(number):,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def ai_action(action):
    """"reply" -> "AI reply"; an action no longer priced keeps its code."""
    return AiAction(action).label if action in AiAction.values else action
