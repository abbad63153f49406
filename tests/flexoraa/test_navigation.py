import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from flexoraa import navigation
from flexoraa.models import Role

CORE_TEMPLATE_DIRS = [settings.BASE_DIR / "templates", settings.BASE_DIR / "flexoraa" / "templates"]
APPS = {"leads", "agents", "billing", "appointments", "experiments", "compliance", "monitoring"}
URL_TAG = re.compile(r"""{%\s*url\s+['"]([^'"]+)['"]""")


def _url_names_by_owner(resolver: URLResolver, namespace: str = "") -> dict[str, str]:
    """Every named URL (with its namespace) and the top-level package of the view it serves."""
    owners = {}
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            owners.update(_url_names_by_owner(pattern, inner))
        elif isinstance(pattern, URLPattern) and pattern.name:
            view = getattr(pattern.callback, "view_class", None) or getattr(
                pattern.callback, "cls", None) or pattern.callback
            owners[namespace + pattern.name] = view.__module__.split(".")[0]
    return owners


def app_url_names() -> set[str]:
    return {name for name, owner in _url_names_by_owner(get_resolver()).items()
            if owner in APPS}


def core_templates() -> list[Path]:
    return [path for directory in CORE_TEMPLATE_DIRS if directory.exists()
            for path in directory.rglob("*.html")]


def test_the_url_walk_knows_the_apps_pages():
    names = app_url_names()
    assert {"leads:my-leads", "inbox-list", "billing:wallet", "leads:breach-banner"} <= names
    assert "home" not in names and "admin:index" not in names


def test_no_core_template_names_an_apps_url():
    names = app_url_names()
    templates = core_templates()
    assert any(path.name == "base.html" for path in templates)
    named = {f"{path.relative_to(settings.BASE_DIR)}: {name}"
             for path in templates for name in URL_TAG.findall(path.read_text())
             if name in names}
    assert named == set(), "register these in the app's navigation.py instead"


def test_every_registered_entry_points_at_a_url_that_exists():
    for url_name in navigation.registered_url_names():
        assert reverse(url_name)


def test_the_top_bar_follows_the_registered_order_and_hides_manager_links_from_sdrs():
    manager = [link.label for link in navigation.links_for("main", role=Role.MANAGER)]
    assert manager == ["Dashboard", "Inbox", "My leads", "Team queue", "Unassigned queue",
                       "SLA report", "Experiments", "Billing", "Operations", "Manager console",
                       "API docs"]
    sdr = [link.label for link in navigation.links_for("main", role=Role.SDR)]
    assert sdr == ["Dashboard", "Inbox", "My leads", "Unassigned queue", "SLA report"]
    assert navigation.links_for("main", role=None) == []


def test_a_link_is_the_current_page_on_its_own_url_and_current_inside_its_section():
    def current(view_name):
        return {link.label: link.current for link in
                navigation.links_for("main", role=Role.OWNER, view_name=view_name)
                if link.current}

    assert current("billing:wallet") == {"Billing": "page"}
    assert current("billing:usage") == {"Billing": "true"}
    assert current("inbox-thread") == {"Inbox": "true"}
    assert current("leads:team") == {"Team queue": "page"}
    assert current("api:docs") == {"API docs": "page"}


def test_the_dashboard_links_name_whose_sla_report_it_is():
    assert [link.label for link in navigation.links_for("dashboard", role=Role.SDR)] == [
        "My leads", "My SLA report"]
    assert [link.label for link in navigation.links_for("dashboard", role=Role.MANAGER)] == [
        "My leads", "Team queue", "Team SLA report"]


def test_registering_an_entry_again_replaces_it_instead_of_doubling_the_bar():
    before = navigation.links("main")
    navigation.register_link(navigation.Link(slot="main", label="Inbox", url_name="inbox-list",
                                             order=10, section=("inbox-",)))
    assert navigation.links("main") == before


def test_an_entry_for_an_unknown_slot_or_role_is_refused():
    with pytest.raises(ValueError, match="slot"):
        navigation.Link(slot="sidebar", label="x", url_name="home", order=1)
    with pytest.raises(ValueError, match="roles"):
        navigation.Link(slot="main", label="x", url_name="home", order=1,
                        roles=frozenset({"admin"}))


@pytest.mark.django_db
def test_a_managers_dashboard_loads_each_registered_banner_with_a_link_without_scripts(
    manager, login_client
):
    page = login_client(manager).get("/").content.decode()
    assert page.index('id="breach-banner" hx-get="/leads/') < page.index(
        'id="low-balance-banner" hx-get="/billing/')
    assert '<a href="/leads/team/#breaches">See the unacknowledged SLA breaches' in page
    assert '<a href="/billing/">Check the token balance</a>' in page


@pytest.mark.django_db
def test_an_sdrs_dashboard_has_no_banners(sdr, login_client):
    page = login_client(sdr).get("/").content.decode()
    assert 'class="banners"' not in page and "breach-banner" not in page
