"""The dashboard's sections that each app registers for itself, so the core's home page never
imports an app: the figures beside the core's own (``figures``) and the wider sections below
them (``main``).

An app registers its sections once, from its ``AppConfig.ready()``; the home page asks for the
sections of the member's role and renders each with the context its function returns. Each
section's function runs a fixed number of queries, so the page's count stays fixed too.

    from flexoraa import home

    home.home_section_register(home.HomeSection(
        key="pipeline", template="leads/home/_pipeline.html", context_fn=pipeline_context,
        roles=MANAGERS, order=10))

A section that shows something the member can change from the home page itself (their
availability) names that change in ``refresh_on``; the view that makes the change sends the
section again, out of band, in its htmx answer.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from flexoraa.models import Membership, Organization
from flexoraa.navigation import EVERYONE

SLOTS = ("figures", "main")
AVAILABILITY = "availability"  # the member toggled their availability on the home page
REFRESH_EVENTS = frozenset({AVAILABILITY})

ContextFn = Callable[[Organization, Membership], dict]


@dataclass(frozen=True)
class HomeSection:
    """One section of the home page. ``context_fn(org, membership)`` returns the template's
    context; the template's root element carries ``hx-swap-oob`` when ``oob`` is set."""

    key: str
    template: str
    context_fn: ContextFn
    roles: frozenset = EVERYONE
    order: int = 100
    slot: str = "main"
    refresh_on: frozenset = frozenset()

    def __post_init__(self):
        if self.slot not in SLOTS:
            raise ValueError(f"Unknown home slot {self.slot!r}; one of {SLOTS}.")
        if not self.roles <= EVERYONE:
            raise ValueError(f"Unknown roles in {sorted(self.roles - EVERYONE)}.")
        if not self.refresh_on <= REFRESH_EVENTS:
            raise ValueError(f"Unknown refresh events in {sorted(self.refresh_on)}.")


_sections: dict[str, HomeSection] = {}


def home_section_register(section: HomeSection) -> None:
    """Add ``section``; registering the same key again replaces it (a ``ready()`` run twice
    must not double the page)."""
    _sections[section.key] = section


def home_section_unregister(key: str) -> None:
    _sections.pop(key, None)


def sections_for(*, role: str | None, slot: str | None = None,
                 refresh: str | None = None) -> list[HomeSection]:
    """The sections a member with ``role`` sees, in order: of one slot, or those sent again
    after the change ``refresh``. No role (no membership) sees none."""
    if role is None:
        return []
    found = [section for section in _sections.values()
             if role in section.roles
             and (slot is None or section.slot == slot)
             and (refresh is None or refresh in section.refresh_on)]
    return sorted(found, key=lambda section: (section.order, section.key))


def render_sections(request, *, slot: str | None = None, refresh: str | None = None,
                    oob: bool = False) -> list[SafeString]:
    """Each section of the member's role rendered to HTML, in order."""
    membership = request.membership
    role = None if membership is None else membership.role
    return [
        render_to_string(
            section.template,
            {**section.context_fn(request.organization, membership), "oob": oob,
             "section_key": section.key},
            request=request,
        )
        for section in sections_for(role=role, slot=slot, refresh=refresh)
    ]
