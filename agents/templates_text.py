"""Template bodies as pure text rules: placeholders {{1}}, {{2}} … and filling them in."""

import re

PLACEHOLDER = re.compile(r"\{\{\s*(\d{1,2})\s*\}\}")


def placeholder_count(body: str) -> int:
    return max((int(number) for number in PLACEHOLDER.findall(body)), default=0)


def template_render(body: str, params: list[str]) -> str:
    """The text the lead sees: each {{n}} replaced by the n-th parameter."""
    return PLACEHOLDER.sub(
        lambda match: params[int(match.group(1)) - 1]
        if 0 < int(match.group(1)) <= len(params) else match.group(0),
        body,
    )
