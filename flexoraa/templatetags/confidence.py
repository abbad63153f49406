"""A model's confidence as words, with the number in a tooltip (``flexoraa.confidence``).

    {% load confidence %}
    {% confidence_words message.intent_confidence %}
    ->  <span class="confidence" title="87% confident" …>likely</span>
"""

from django import template
from django.utils.html import format_html

from flexoraa import confidence

register = template.Library()


@register.simple_tag
def confidence_words(value) -> str:
    try:
        number = None if value is None else float(value)
    except (TypeError, ValueError):
        number = None
    words = confidence.confidence_words(number)
    if not words:
        return ""
    percent = confidence.confidence_percent(number)
    return format_html('<span class="confidence" title="{} confident" data-testid="confidence" '
                       'data-confidence="{}">{}</span>', percent, f"{number:.4f}", words)
