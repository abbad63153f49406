"""The billing pages of issue 5: the wallet (balance, alert level, packages, prices, latest
entries), usage (per day as an SVG chart in the tenant's time zone, per action, per SDR), the
payment history with its CSV of receipts, the dashboard's low-balance banner, and who may see
any of it (owners and managers; never an SDR, never another tenant's rows)."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing import charts, receipts, services
from billing.models import AiAction, LedgerReason, PaymentStatus
from flexoraa.actors import Actor
from flexoraa.models import AuditEvent, Role
from tests.billing.billing_pages_support import (
    credit,
    csv_rows,
    make_payment,
    page_of,
    queries,
    spend,
    wallet_of,
)
from tests.billing.razorpay_support import make_package
from tests.factories import SETUP_ACTOR, UserFactory, make_membership

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
IST = ZoneInfo("Asia/Kolkata")
PAGES = ["/billing/", "/billing/usage/", "/billing/payments/", "/billing/payments.csv",
         "/billing/low-balance-banner/"]

@pytest.fixture
def owner(org):
    return make_membership(org, role=Role.OWNER)


@pytest.fixture
def asha(org):
    """An SDR with a full name the usage page should show."""
    user = UserFactory(username="asha-sdr", first_name="Asha", last_name="Rao")
    return make_membership(org, role=Role.SDR, user=user)


# --- who sees what ------------------------------------------------------------------------

@pytest.mark.parametrize("url", PAGES)
def test_every_billing_page_is_for_owners_and_managers_and_refused_to_sdrs(
    url, manager, owner, sdr, login_client
):
    assert login_client(manager).get(url).status_code == 200
    assert login_client(owner).get(url).status_code == 200
    assert login_client(sdr).get(url).status_code == 403


def test_an_sdr_cannot_change_the_alert_level(org, sdr, login_client):
    credit(org, 500)

    response = login_client(sdr).post("/billing/alert-level/", {"low_balance_threshold": "1"})

    assert response.status_code == 403
    assert wallet_of(org).low_balance_threshold == 1000


@pytest.mark.parametrize("url", [*PAGES, "/billing/alert-level/"])
def test_anonymous_visitors_are_asked_to_sign_in(url, client):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_another_tenants_money_never_shows_on_any_page(
    org, other_org, manager, login_client
):
    package = make_package(name="Shared pack")
    outsider = make_membership(other_org, role=Role.SDR,
                               user=UserFactory(username="outsider-olga"))
    credit(other_org, 90_000, reference="their-credit-ref")
    spend(other_org, 777, membership=outsider, reference="their-usage-ref")
    theirs = make_payment(other_org, package)
    ours = make_payment(org, package)
    credit(org, 1_234)
    client = login_client(manager)

    pages = [page_of(client.get(url)) for url in PAGES if not url.endswith(".csv")]
    pages.append(b"".join(client.get("/billing/payments.csv").streaming_content).decode())

    for text in pages:
        assert theirs.receipt not in text and theirs.razorpay_payment_id not in text
        assert "outsider-olga" not in text
        assert "their-credit-ref" not in text and "their-usage-ref" not in text
        assert "90,000" not in text and "777" not in text
    assert ours.receipt in pages[2] and ours.receipt in pages[-1]
    assert 'data-testid="wallet-balance">1,234<' in pages[0]


# --- the wallet ---------------------------------------------------------------------------

def test_the_wallet_shows_the_balance_packages_prices_and_latest_entries(
    org, manager, asha, login_client
):
    make_package(name="Starter", tokens=10_000, price_paise=99_900)
    make_package(name="Retired", is_active=False)
    services.action_price_set(org=org, action=AiAction.REPLY, tokens=7,
                              actor=Actor.for_member(manager))
    credit(org, 5_000, reference="welcome")
    spend(org, 7, membership=asha, reference="msg-42")

    page = page_of(login_client(manager).get("/billing/"))

    assert '<p class="big huge" data-testid="wallet-balance">4,993</p>' in page
    assert "Starter" in page and "₹999.00" in page and "Retired" not in page
    assert 'aria-label="Buy Starter"' in page and 'action="/billing/buy/"' in page
    # What each action costs here: the tenant's own price, else the standard one.
    assert page.count('data-testid="price-row"') == len(AiAction)
    assert re.search(r'data-testid="price-reply">7</td>\s*<td>set by your team', page)
    assert re.search(r'data-testid="price-classification">1</td>\s*<td><span class="muted">'
                     r"the standard price", page)
    assert "LLM usage per 1,000 model tokens" in page
    # The latest entries, newest first, with who the usage was for.
    rows = re.findall(r'<tr data-testid="ledger-row">(.*?)</tr>', page, re.S)
    assert len(rows) == 2
    assert "-7" in rows[0] and "AI usage: AI reply" in rows[0] and "Asha Rao" in rows[0]
    assert "msg-42" in rows[0]
    assert "+5,000" in rows[1] and "Tokens bought" in rows[1] and "welcome" in rows[1]
    assert '<a href="/billing/" aria-current="page">Wallet</a>' in page


def test_a_balance_below_the_alert_level_is_warned_about_and_one_above_is_not(
    org, manager, login_client
):
    client = login_client(manager)
    credit(org, 900)  # the standard alert level is 1,000

    low = page_of(client.get("/billing/"))
    assert 'data-testid="low-balance-warning"' in low
    assert "The balance of 900 is below your alert level of 1,000" in low
    assert 'href="#packages"' in low

    credit(org, 100)  # at the alert level is not below it
    assert 'data-testid="low-balance-warning"' not in page_of(client.get("/billing/"))


def test_a_manager_sets_the_alert_level_without_javascript(org, manager, login_client):
    credit(org, 5_000)
    client = login_client(manager)

    response = client.post("/billing/alert-level/", {"low_balance_threshold": "6,000"})

    assert response.status_code == 302 and response["Location"] == "/billing/"
    assert wallet_of(org).low_balance_threshold == 6_000
    page = page_of(client.get("/billing/"))
    assert "Alert level set to 6,000 tokens." in page
    assert 'value="6000"' in page
    assert 'data-testid="low-balance-warning"' in page
    event = AuditEvent.objects.for_org(org).filter(action="wallet.threshold_updated").get()
    assert event.data == {"threshold": 6_000} and event.actor_user_id == manager.user_id


def test_with_htmx_the_alert_level_comes_back_as_the_status_card(org, manager, login_client):
    credit(org, 500)

    response = login_client(manager).post("/billing/alert-level/",
                                          {"low_balance_threshold": "0"}, headers=HTMX)

    fragment = page_of(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="wallet-status">')
    assert "<html" not in fragment
    assert "Alert level set to 0: the low-balance alert is off." in fragment
    assert 'data-testid="low-balance-warning"' not in fragment
    assert wallet_of(org).low_balance_threshold == 0


@pytest.mark.parametrize(("typed", "problem"), [
    ("", "Give an alert level in tokens (0 turns the alert off)."),
    ("lots", "Give a whole number of tokens, such as 1000."),
    ("12.5", "Give a whole number of tokens, such as 1000."),
    ("-5", "The alert level cannot be below 0."),
    ("1000000000001", "The alert level can be at most 1,000,000,000,000 tokens."),
])
def test_a_bad_alert_level_is_explained_by_its_field_and_nothing_changes(
    org, manager, login_client, typed, problem
):
    credit(org, 5_000)
    client = login_client(manager)

    response = client.post("/billing/alert-level/", {"low_balance_threshold": typed})

    assert response.status_code == 400
    page = page_of(response)
    assert problem in page
    assert 'aria-invalid="true"' in page
    assert 'data-testid="wallet-balance">5,000<' in page  # the whole wallet, with the problem
    htmx = client.post("/billing/alert-level/", {"low_balance_threshold": typed},
                       headers=HTMX)
    assert htmx.status_code == 200 and problem in page_of(htmx)
    assert wallet_of(org).low_balance_threshold == 1000
    assert not AuditEvent.objects.filter(action="wallet.threshold_updated").exists()


def test_the_wallet_runs_the_same_queries_for_a_few_entries_as_for_many(
    org, manager, asha, login_client
):
    package = make_package()
    client = login_client(manager)
    credit(org, 1_000)
    spend(org, 5, membership=asha)
    make_payment(org, package)
    few = queries(client, "/billing/")

    for _ in range(15):
        spend(org, 5, membership=make_membership(org, role=Role.SDR))
        make_payment(org, make_package(name="Another"))
    services.action_price_set(org=org, action=AiAction.REPLY, tokens=9, actor=SETUP_ACTOR)
    services.action_price_set(org=org, action=AiAction.QUALIFICATION, tokens=4, actor=SETUP_ACTOR)

    assert queries(client, "/billing/") == few


# --- usage --------------------------------------------------------------------------------

def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


def chart_bars(page: str) -> dict[str, int]:
    return {day: int(tokens) for day, tokens in re.findall(
        r'<rect class="day-bar" [^>]*data-day="([\d-]+)" data-tokens="(\d+)"', page)}


def test_usage_is_counted_per_day_in_the_tenants_time_zone(org, manager, asha, login_client):
    today = timezone.localdate(timezone=IST)
    day = today - timedelta(days=2)
    credit(org, 10_000)
    # 23:30 in India is 18:00 UTC the same day; 00:30 the next day is 19:00 UTC, still the
    # same day in UTC. Grouped in the tenant's zone they land on two days.
    spend(org, 40, membership=asha, at=ist(day, 23, 30))
    spend(org, 2, membership=asha, at=ist(day + timedelta(days=1), 0, 30))
    spend(org, 5, at=ist(day, 0, 5))
    spend(org, 300, at=ist(today - timedelta(days=10), 12))  # outside a 7-day window

    page = page_of(login_client(manager).get("/billing/usage/", {"days": 7}))

    bars = chart_bars(page)
    assert len(bars) == 7
    assert min(bars) == (today - timedelta(days=6)).isoformat()
    assert max(bars) == today.isoformat()
    assert bars[day.isoformat()] == 45
    assert bars[(day + timedelta(days=1)).isoformat()] == 2
    assert sum(bars.values()) == 47
    assert 'data-testid="usage-tokens">47<' in page
    assert 'data-testid="usage-charges">3<' in page
    # The same numbers in the table under the chart.
    row = re.search(rf'data-day="{day.isoformat()}"><th scope="row">[^<]+</th>'
                    r"<td>([\d,]+)</td><td>(\d+)</td>", page)
    assert row and row.groups() == ("45", "2")

    month = chart_bars(page_of(login_client(manager).get("/billing/usage/")))
    assert len(month) == 30 and sum(month.values()) == 347


def test_usage_is_broken_down_per_action_and_per_sdr_with_no_sdr_for_system_usage(
    org, manager, asha, login_client
):
    ravi = make_membership(org, role=Role.SDR, user=UserFactory(username="ravi"))
    credit(org, 10_000)
    spend(org, 300, action=AiAction.REPLY, membership=asha)
    spend(org, 100, action=AiAction.REPLY, membership=ravi)
    spend(org, 80, action=AiAction.CLASSIFICATION)
    spend(org, 20, action=AiAction.QUALIFICATION, membership=asha)
    services.wallet_debit(org=org, amount=999, reason=LedgerReason.ADJUSTMENT,
                          idempotency_key="not-usage", actor=SETUP_ACTOR)  # not AI usage: left out

    page = page_of(login_client(manager).get("/billing/usage/"))

    actions = re.findall(r'<tr data-testid="usage-action-row">\s*<th scope="row"[^>]*>([^<]+)'
                         r'</th>\s*<td[^>]*>([\d,]+)</td>\s*<td[^>]*>(\d+)</td>\s*'
                         r'<td[^>]*>\s*<span>([\d.]+)%</span>', page)
    assert actions == [("AI reply", "400", "2", "80.0"),
                       ("Message classification", "80", "1", "16.0"),
                       ("Qualification turn", "20", "1", "4.0")]
    members = re.findall(r'<tr data-testid="usage-member-row">\s*<th scope="row"[^>]*>([^<]+)'
                         r'</th>\s*<td[^>]*>([\d,]+)</td>', page)
    assert members == [("Asha Rao", "320"), ("ravi", "100"), ("No SDR", "80")]
    assert 'style="width: 80.0%"' in page and 'style="width: 4.0%"' in page
    assert 'data-testid="usage-tokens">500<' in page


def test_the_usage_chart_is_an_inline_svg_with_a_title_a_description_and_a_table(
    org, manager, login_client
):
    credit(org, 1_000)
    spend(org, 12)

    page = page_of(login_client(manager).get("/billing/usage/", {"days": 90}))

    # The chart's own SVG: the layout's bell icon is an SVG too.
    svg = re.search(r'<svg [^>]*aria-labelledby="usage-chart-title[^>]*>.*?</svg>', page, re.S)[0]
    assert 'role="img"' in svg and 'aria-labelledby="usage-chart-title usage-chart-desc"' in svg
    assert '<title id="usage-chart-title">Tokens spent per day' in svg
    assert "12 tokens over 90 days; the busiest day was" in svg
    assert svg.count('<rect class="day-bar"') == 90
    assert re.search(r'data-tokens="12"><title>[^<]+: 12 tokens</title>', svg)
    assert "<details>" in page and "The numbers as a table" in page
    assert page.count('data-testid="usage-day"') == 90
    assert "<script" not in page.split("</head>", 1)[1]  # no chart library


def test_a_period_that_is_not_offered_is_explained_and_30_days_are_shown(manager, login_client):
    page = page_of(login_client(manager).get("/billing/usage/", {"days": "365"}))
    assert "&#x27;365&#x27; is not one of 7, 30, 90 days; showing the last 30 days." in page
    assert page.count('<rect class="day-bar"') == 30
    assert "No tokens were spent in these 30 days." in page


def test_the_usage_page_runs_the_same_queries_whatever_the_days_and_entries(
    org, manager, asha, login_client
):
    client = login_client(manager)
    credit(org, 100_000)
    spend(org, 3, membership=asha)
    few = queries(client, "/billing/usage/?days=7")

    now = timezone.now()
    for index in range(40):
        spend(org, 2 + index, action=list(AiAction)[index % 4],
              membership=make_membership(org, role=Role.SDR) if index % 3 else None,
              at=now - timedelta(days=index * 2, hours=index))

    assert queries(client, "/billing/usage/?days=7") == few
    assert queries(client, "/billing/usage/?days=90") == few


# --- payments -----------------------------------------------------------------------------

def test_the_payment_history_shows_each_payment_with_its_status_amount_and_refund(
    org, manager, login_client
):
    package = make_package(name="Growth", tokens=60_000, price_paise=499_900)
    paid = make_payment(org, package)
    refunded = make_payment(org, package, status=PaymentStatus.REFUNDED,
                            refunded_paise=100_000, refunded_tokens=12_000)
    failed = make_payment(org, package, status=PaymentStatus.FAILED,
                          failure_reason="The bank declined it.")

    page = page_of(login_client(manager).get("/billing/payments/"))

    rows = re.findall(r'<tr data-testid="payment-history-row">(.*?)</tr>', page, re.S)
    assert len(rows) == 3
    assert failed.receipt in rows[0] and "Failed" in rows[0]
    assert "The bank declined it." in rows[0]
    assert refunded.receipt in rows[1] and "Refunded" in rows[1]
    assert "₹1,000.00" in rows[1] and "12,000 tokens taken back" in rows[1]
    assert paid.receipt in rows[2] and "Paid" in rows[2] and paid.razorpay_payment_id in rows[2]
    for row in rows:
        assert "Growth" in row and "60,000" in row and "₹4,999.00" in row
    assert "3 payments" in page
    assert 'href="/billing/payments.csv"' in page
    assert '<a href="/billing/payments/" aria-current="page">Payments</a>' in page


def test_the_payment_history_shows_25_payments_a_page(org, manager, login_client):
    package = make_package()
    for _ in range(26):
        make_payment(org, package)
    client = login_client(manager)

    first = page_of(client.get("/billing/payments/"))
    assert first.count('data-testid="payment-history-row"') == 25
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    assert page_of(client.get("/billing/payments/?page=2")).count(
        'data-testid="payment-history-row"') == 1
    assert page_of(client.get("/billing/payments/?page=lots")).count(
        'data-testid="payment-history-row"') == 25


def test_the_payment_history_and_its_csv_run_the_same_queries_for_3_payments_as_for_30(
    org, manager, login_client
):
    client = login_client(manager)
    for _ in range(3):
        make_payment(org, make_package())
    page, download = queries(client, "/billing/payments/"), queries(client, "/billing/payments.csv")

    for _ in range(27):
        make_payment(org, make_package())

    assert queries(client, "/billing/payments/") == page
    assert queries(client, "/billing/payments.csv") == download


def test_the_receipts_csv_is_streamed_with_a_named_file_and_one_row_a_payment(
    org, manager, login_client
):
    package = make_package(name="Starter", tokens=10_000, price_paise=99_900)
    refunded = make_payment(org, package, status=PaymentStatus.REFUNDED,
                            refunded_paise=50_050, refunded_tokens=5_000,
                            created_at=datetime(2025, 3, 14, 18, 0, tzinfo=ZoneInfo("UTC")))
    waiting = make_payment(org, package, status=PaymentStatus.CREATED)

    response = login_client(manager).get("/billing/payments.csv")

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate(timezone=IST).isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="flexoraa-payments-acme-{today}.csv"')
    assert response["Cache-Control"] == "no-store"
    rows = csv_rows(response)
    assert rows[0] == ["receipt", "date", "package", "tokens", "amount", "currency", "status",
                       "razorpay_payment_id", "refunded_amount"]
    assert rows[1] == [waiting.receipt, rows[1][1], "Starter", "10000", "999.00", "INR",
                       "created", "", "0.00"]
    # 18:00 UTC is 23:30 in India, the tenant's zone.
    assert rows[2] == [refunded.receipt, "2025-03-14 23:30:00+05:30", "Starter", "10000",
                       "999.00", "INR", "refunded", refunded.razorpay_payment_id, "500.50"]
    assert len(rows) == 3


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_escaped(
    org, manager, login_client
):
    for name in ("=HYPERLINK(\"http://evil.test\")", "+1+2", "-2+3", "@SUM(A1)", "Plain"):
        make_payment(org, make_package(name=name))

    rows = csv_rows(login_client(manager).get("/billing/payments.csv"))

    names = sorted(row[2] for row in rows[1:])
    assert names == ["'+1+2", "'-2+3", "'=HYPERLINK(\"http://evil.test\")", "'@SUM(A1)",
                     "Plain"]


def test_an_amount_in_the_csv_is_a_plain_number():
    assert receipts.plain_amount(99_900) == "999.00"
    assert receipts.plain_amount(5) == "0.05"


# --- the chart's geometry ----------------------------------------------------------------

def test_the_chart_scale_is_round_with_a_whole_half():
    assert [charts.nice_scale(peak) for peak in (0, 1, 3, 10, 11, 45, 99, 100, 2_100)] == [
        2, 2, 4, 10, 12, 50, 100, 100, 2_400]


def test_each_day_gets_a_bar_in_proportion_and_a_small_day_stays_visible():
    days = [date(2025, 3, 1) + timedelta(days=n) for n in range(3)]

    chart = charts.bar_chart(list(zip(days, [0, 1, 2_400], strict=True)))

    assert chart.scale == 2_400 and chart.width == 30 and chart.height == 1000
    assert [bar.height for bar in chart.bars] == [0, 1, 1000]
    assert [bar.x for bar in chart.bars] == [1, 11, 21]
    assert all(bar.y + bar.height == 1000 for bar in chart.bars)


# --- the dashboard banner and the navigation ---------------------------------------------

def test_the_dashboard_loads_a_low_balance_banner_for_managers_when_the_balance_is_low(
    org, manager, login_client
):
    client = login_client(manager)
    credit(org, 300)

    home = page_of(client.get("/"))
    assert ('<div id="low-balance-banner" hx-get="/billing/low-balance-banner/" '
            'hx-trigger="load" hx-swap="outerHTML"></div>') in home
    assert 'hx-sync="this:queue all"' in home

    banner = page_of(client.get("/billing/low-balance-banner/", headers=HTMX))
    assert 'data-testid="low-balance-banner"' in banner
    assert "300 left, below your alert level of 1,000" in banner
    assert '<a href="/billing/">Buy tokens</a>' in banner

    credit(org, 5_000)
    high = page_of(client.get("/billing/low-balance-banner/", headers=HTMX))
    assert high.strip() == '<div id="low-balance-banner" hidden></div>'


def test_an_sdrs_dashboard_has_no_low_balance_banner_and_no_billing_link(org, sdr, login_client):
    home = page_of(login_client(sdr).get("/"))
    assert "low-balance-banner" not in home
    assert "/billing/" not in home


def test_managers_have_a_billing_link_marked_current_on_the_billing_pages(
    manager, login_client
):
    client = login_client(manager)
    assert '<a href="/billing/">Billing</a>' in page_of(client.get("/"))
    assert '<a href="/billing/" aria-current="page">Billing</a>' in page_of(
        client.get("/billing/"))
    for url in ("/billing/usage/", "/billing/payments/"):
        assert '<a href="/billing/" aria-current="true">Billing</a>' in page_of(client.get(url))
