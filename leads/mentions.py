"""@mentions in a note, without the ORM: which handles a note names, and which members they
name. A handle is a member's username or, when only one member of the tenant has it, their
first name; anything else stays plain text."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

# "@" at the start or after a space or an opening bracket, so an email address
# (asha@example.com) is not a mention. Usernames may hold letters, digits and @.+-_; the "@"
# is left out here, so "@asha@example" reads as the handle "asha".
MENTION = re.compile(r"(?<![^\s(\[{'\"])@([\w.+-]+)")
MAX_HANDLES = 50


@dataclass(frozen=True)
class Member:
    """What a mention is matched against: a membership id and the person's names."""

    id: int
    username: str
    first_name: str = ""


def mentioned_handles(body: str) -> list[str]:
    """The handles a note names, lower-cased, in order of first appearance, each once (at most
    ``MAX_HANDLES``). Trailing dots and dashes are the sentence's, not the name's."""
    found: dict[str, None] = {}
    for match in MENTION.finditer(body or ""):
        handle = match.group(1).rstrip(".-+").casefold()
        if handle:
            found.setdefault(handle, None)
        if len(found) >= MAX_HANDLES:
            break
    return list(found)


def mentioned_members(handles: Iterable[str], members: Iterable[Member]) -> list[int]:
    """The ids of the members ``handles`` name, each once, in the order of the handles. A
    username matches first; a first name only when exactly one member has it (two Ashas:
    "@asha" names neither, the note keeps it as text)."""
    members = list(members)
    by_username = {member.username.casefold(): member.id for member in members}
    by_first: dict[str, list[int]] = {}
    for member in members:
        first = member.first_name.strip().casefold()
        if first:
            by_first.setdefault(first, []).append(member.id)
    ids: dict[int, None] = {}
    for handle in handles:
        handle = handle.casefold()
        if handle in by_username:
            ids.setdefault(by_username[handle], None)
        elif len(by_first.get(handle, ())) == 1:
            ids.setdefault(by_first[handle][0], None)
    return list(ids)
