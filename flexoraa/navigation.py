"""Navigation that each app registers for itself, so the core's templates never name an app's
URL: the top bar (``main``), the dashboard's quick links (``dashboard``) and the dashboard's
banners (htmx fragments loaded after the page).

Each app declares its entries in its own ``navigation.py``; the core imports every app's module
once, when the apps are ready (``autodiscover``), and the base layout and the dashboard render
them through the ``navigation`` template tags. Entries say who sees them by membership role.

    from flexoraa import navigation

    navigation.register_link(navigation.Link(
        slot="main", label="My leads", url_name="leads:my-leads", order=20))
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.module_loading import autodiscover_modules

from flexoraa.models import MANAGING_ROLES, Role

EVERYONE = frozenset(Role.values)
MANAGERS = frozenset(MANAGING_ROLES)
SDRS = frozenset({Role.SDR})
SLOTS = ("main", "dashboard")


@dataclass(frozen=True)
class Link:
    """One link in a slot. ``section`` lists view-name prefixes of the pages the link leads
    into (``"billing:"``): on those it is marked ``aria-current="true"``, and on its own page
    ``aria-current="page"``."""

    slot: str
    label: str
    url_name: str
    order: int
    roles: frozenset = EVERYONE
    section: tuple[str, ...] = ()
    anchor: str = ""

    def __post_init__(self):
        if self.slot not in SLOTS:
            raise ValueError(f"Unknown navigation slot {self.slot!r}; one of {SLOTS}.")
        if not self.roles <= EVERYONE:
            raise ValueError(f"Unknown roles in {sorted(self.roles - EVERYONE)}.")


@dataclass(frozen=True)
class Banner:
    """A dashboard banner fetched after the page (so the dashboard keeps its fixed query
    count), with a plain link in its place when scripts are off."""

    element_id: str
    url_name: str
    order: int
    fallback_label: str
    fallback_url_name: str
    fallback_anchor: str = ""
    roles: frozenset = MANAGERS


@dataclass(frozen=True)
class ResolvedLink:
    label: str
    url: str
    current: str  # "page", "true" or "" (not current)


@dataclass(frozen=True)
class ResolvedBanner:
    element_id: str
    url: str
    fallback_label: str
    fallback_url: str


_links: dict[tuple[str, str, str], Link] = {}
_banners: dict[str, Banner] = {}


def register_link(link: Link) -> None:
    """Add ``link`` to its slot. Registering the same slot, URL and label again replaces it
    (a module imported twice must not double the bar)."""
    _links[(link.slot, link.url_name, link.label)] = link


def register_banner(banner: Banner) -> None:
    _banners[banner.element_id] = banner


def links(slot: str) -> list[Link]:
    return sorted((link for link in _links.values() if link.slot == slot),
                  key=lambda link: (link.order, link.label))


def banners() -> list[Banner]:
    return sorted(_banners.values(), key=lambda banner: (banner.order, banner.element_id))


def _current(link: Link, view_name: str) -> str:
    if view_name == link.url_name:
        return "page"
    if view_name and any(view_name.startswith(prefix) for prefix in link.section):
        return "true"
    return ""


def links_for(slot: str, *, role: str | None, view_name: str = "") -> list[ResolvedLink]:
    """The links of ``slot`` that a member with ``role`` sees, with their URLs and which one
    is current on the page named ``view_name``. No role (no membership) sees none."""
    if role is None:
        return []
    return [ResolvedLink(label=link.label, url=reverse(link.url_name) + link.anchor,
                         current=_current(link, view_name))
            for link in links(slot) if role in link.roles]


def banners_for(*, role: str | None) -> list[ResolvedBanner]:
    if role is None:
        return []
    return [ResolvedBanner(element_id=banner.element_id, url=reverse(banner.url_name),
                           fallback_label=banner.fallback_label,
                           fallback_url=reverse(banner.fallback_url_name)
                           + banner.fallback_anchor)
            for banner in banners() if role in banner.roles]


def autodiscover() -> None:
    """Import every installed app's ``navigation`` module (the core's included)."""
    autodiscover_modules("navigation")


def registered_url_names() -> Iterable[str]:
    for link in _links.values():
        yield link.url_name
    for banner in _banners.values():
        yield banner.url_name
        yield banner.fallback_url_name


# The core's own entries: the dashboard first; operations, the console and the API docs last.
register_link(Link(slot="main", label="Dashboard", url_name="home", order=0))
register_link(Link(slot="main", label="Operations", url_name="operations", order=890,
                   roles=MANAGERS))
register_link(Link(slot="main", label="Manager console", url_name="admin:index", order=900,
                   roles=MANAGERS))
register_link(Link(slot="main", label="API docs", url_name="api:docs", order=910,
                   roles=MANAGERS))
