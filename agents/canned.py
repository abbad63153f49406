"""Canned replies without the ORM: the placeholders a body may hold, filling them from a lead,
and which replies a typed ``/shortcut`` offers."""

import re
from dataclasses import dataclass

# What a body may name, and what each one means. A placeholder without a value reads as its
# fallback, so "Hi {first_name}," never becomes "Hi ,".
PLACEHOLDERS = {
    "first_name": "the lead's first name (\"there\" when unknown)",
    "last_name": "the lead's last name",
    "name": "the lead's full name (\"there\" when unknown)",
    "my_name": "the name of the person replying",
    "company": "your organization's name",
}
FALLBACKS = {"first_name": "there", "name": "there"}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Names:
    """The values placeholders are filled with."""

    lead_name: str = ""
    my_name: str = ""
    company: str = ""

    def values(self) -> dict[str, str]:
        full = " ".join(self.lead_name.split())
        first, _, last = full.partition(" ")
        return {"first_name": first, "last_name": last, "name": full,
                "my_name": self.my_name.strip(), "company": self.company.strip()}


def unknown_placeholders(body: str) -> list[str]:
    """The ``{names}`` in ``body`` that are not placeholders, in order, once each."""
    found = []
    for name in _PLACEHOLDER.findall(body):
        if name not in PLACEHOLDERS and name not in found:
            found.append(name)
    return found


def fill(body: str, names: Names) -> str:
    """``body`` with each known placeholder replaced; anything else in braces is kept."""
    values = names.values()

    def replace(match):
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        return values[name] or FALLBACKS.get(name, "")

    return _PLACEHOLDER.sub(replace, body)


def normalized_shortcut(typed: str) -> str:
    """A shortcut as stored: lower case, without the leading slash."""
    return (typed or "").strip().lstrip("/").lower()


def matching(replies, typed: str) -> list:
    """The replies a typed ``/word`` offers: shortcuts starting with it first, then those
    whose shortcut or title contains it. ``replies`` have ``shortcut`` and ``title``."""
    word = normalized_shortcut(typed)
    starts = [r for r in replies if r.shortcut.startswith(word)]
    contains = [r for r in replies if r not in starts
                and (word in r.shortcut or word in r.title.lower())]
    return starts + contains
