"""The home page's section registry and the chart geometry the core shares: pure pieces, no
app imported by the core."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from flexoraa import charts, home
from flexoraa.models import Role
from flexoraa.navigation import MANAGERS, SDRS


@pytest.fixture
def scratch_sections():
    """Sections registered by a test are gone after it."""
    keys = []

    def register(section):
        keys.append(section.key)
        home.home_section_register(section)

    yield register
    for key in keys:
        home.home_section_unregister(key)


def _nothing(org, membership):
    return {}


def test_sections_are_picked_by_role_and_slot_and_ordered(scratch_sections):
    scratch_sections(home.HomeSection(key="t-late", template="x.html", context_fn=_nothing,
                                      roles=MANAGERS, order=-50))
    scratch_sections(home.HomeSection(key="t-early", template="x.html", context_fn=_nothing,
                                      roles=MANAGERS, order=-60))
    scratch_sections(home.HomeSection(key="t-sdr", template="x.html", context_fn=_nothing,
                                      roles=SDRS, order=-60, slot="figures",
                                      refresh_on=frozenset({home.AVAILABILITY})))

    manager_keys = [s.key for s in home.sections_for(role=Role.MANAGER, slot="main")]
    assert manager_keys[:2] == ["t-early", "t-late"]
    assert "t-sdr" not in manager_keys
    assert next(s.key for s in home.sections_for(role=Role.SDR, slot="figures")) == "t-sdr"
    assert "t-sdr" in [s.key for s in home.sections_for(role=Role.SDR,
                                                        refresh=home.AVAILABILITY)]
    assert home.sections_for(role=None) == []


def test_registering_a_key_again_replaces_the_section(scratch_sections):
    for order in (-5, -6):
        scratch_sections(home.HomeSection(key="t-twice", template="x.html",
                                          context_fn=_nothing, order=order))
    found = [s for s in home.sections_for(role=Role.OWNER) if s.key == "t-twice"]
    assert [s.order for s in found] == [-6]


def test_an_unknown_slot_role_or_refresh_event_is_refused():
    with pytest.raises(ValueError, match="slot"):
        home.HomeSection(key="bad", template="x.html", context_fn=_nothing, slot="side")
    with pytest.raises(ValueError, match="roles"):
        home.HomeSection(key="bad", template="x.html", context_fn=_nothing,
                         roles=frozenset({"boss"}))
    with pytest.raises(ValueError, match="refresh"):
        home.HomeSection(key="bad", template="x.html", context_fn=_nothing,
                         refresh_on=frozenset({"weather"}))


def test_leads_registers_its_sections_from_its_app_config():
    keys = {s.key for s in home.sections_for(role=Role.MANAGER)}
    assert {"leads-pipeline", "leads-unassigned", "leads-trend"} <= keys
    assert {s.key for s in home.sections_for(role=Role.SDR)} >= {"leads-my-queue",
                                                                 "leads-team-room"}


def test_the_core_modules_of_the_home_import_no_app():
    apps = ("leads", "agents", "billing", "appointments", "experiments", "compliance",
            "monitoring")
    for module in ("home.py", "charts.py", "views.py"):
        text = (Path(settings.BASE_DIR) / "flexoraa" / module).read_text()
        for app in apps:
            assert f"from {app}" not in text and f"import {app}" not in text, (module, app)


# --- chart geometry -------------------------------------------------------------------------

def test_the_scale_tops_out_at_a_round_number_with_a_whole_half():
    assert [charts.nice_scale(peak) for peak in (0, 1, 3, 10, 11, 45, 99, 100, 2_100)] == [
        2, 2, 4, 10, 12, 50, 100, 100, 2_400]


def test_stacked_bars_are_as_tall_as_their_total_with_the_first_series_at_the_bottom():
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(3)]
    chart = charts.stacked_chart(
        list(zip(days, [(2, 1, 1), (0, 0, 0), (3, 0, 1)], strict=True)),
        series=("hot", "warm", "cold"), line=[1, 0, 2],
    )
    assert (chart.scale, chart.width, chart.height) == (4, 30, 1000)
    first, idle, third = chart.bars
    assert [(s.series, s.y, s.height) for s in first.segments] == [
        ("hot", 500, 500), ("warm", 250, 250), ("cold", 0, 250)]
    assert idle.segments == () and idle.total == 0
    assert [s.series for s in third.segments] == ["hot", "cold"]  # no empty warm part
    assert (first.x, first.width, third.x) == (1, 8, 21)
    assert chart.line_points == "5,750 15,1000 25,500"
    assert chart.gridlines == (0, 500, 1000) and chart.half == 2


def test_a_small_part_of_a_big_day_is_still_drawn():
    chart = charts.stacked_chart([("a", (5_000, 1)), ("b", (0, 0))], series=("x", "y"))
    top = chart.bars[0].segments[-1]
    assert top.series == "y" and top.height >= 1 and top.y >= 0


def test_a_line_needs_one_value_per_column():
    with pytest.raises(ValueError):
        charts.stacked_chart([("a", (1,))], series=("x",), line=[1, 2])
