"""The token economy in the manager console: packages (platform-wide, superusers only write),
prices (a manager's own, once per action, through the service), and the ledger, payments and
wallets, which no one edits there, superusers included."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from billing import services
from billing.models import (
    ActionPrice,
    AiAction,
    LedgerReason,
    Payment,
    PaymentStatus,
    TokenLedgerEntry,
    TokenPackage,
    TokenWallet,
)
from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import AuditEvent, Role
from tests.billing.razorpay_support import make_package
from tests.factories import SETUP_ACTOR, make_membership

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def credit(org, amount, *, reference=""):
    return services.wallet_credit(org=org, amount=amount, reason=LedgerReason.PURCHASE,
                                  reference=reference, idempotency_key=f"admin-{next(_keys)}",
                                  actor=SETUP_ACTOR)


def make_payment(org, package, *, receipt) -> Payment:
    return Payment.objects.create(
        organization=org, package=package, tokens=package.tokens,
        amount_paise=package.price_paise, currency=package.currency, receipt=receipt,
        razorpay_order_id=f"order_{receipt}", status=PaymentStatus.CAPTURED,
    )


@pytest.fixture
def console(manager):
    return signed_in(manager.user)


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.test", "pw-unused")


@pytest.fixture
def root(superuser):
    return signed_in(superuser)


# --- packages -----------------------------------------------------------------------------

def test_a_manager_sees_only_the_packages_on_sale_and_cannot_add_or_change_one(console):
    on_sale = make_package(name="On sale pack")
    retired = make_package(name="Retired pack", is_active=False)

    listing = console.get("/admin/billing/tokenpackage/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "On sale pack" in page and "Retired pack" not in page
    assert "/admin/billing/tokenpackage/add/" not in page

    assert console.get("/admin/billing/tokenpackage/add/").status_code == 403
    response = console.post("/admin/billing/tokenpackage/add/", {
        "name": "Free tokens", "tokens": 10**9, "price_paise": 100, "currency": "INR",
        "is_active": "on", "sort_order": 0})
    assert response.status_code == 403
    assert not TokenPackage.objects.filter(name="Free tokens").exists()

    view = console.get(f"/admin/billing/tokenpackage/{on_sale.pk}/change/")
    assert view.status_code == 200 and 'name="name"' not in view.content.decode()
    changed = console.post(f"/admin/billing/tokenpackage/{on_sale.pk}/change/",
                           {"name": "Mine now", "tokens": 1, "price_paise": 100,
                            "currency": "INR", "sort_order": 0})
    assert changed.status_code == 403
    on_sale.refresh_from_db()
    assert on_sale.name == "On sale pack" and on_sale.tokens == 10_000
    # A package off sale is not there for a manager.
    assert console.get(f"/admin/billing/tokenpackage/{retired.pk}/change/").status_code == 302
    assert console.post(f"/admin/billing/tokenpackage/{on_sale.pk}/delete/",
                        {"post": "yes"}).status_code == 403


def test_a_superuser_adds_and_changes_packages_but_deletes_none(root):
    response = root.post("/admin/billing/tokenpackage/add/", {
        "name": "Enterprise", "tokens": 1_000_000, "price_paise": 4_999_900,
        "currency": "INR", "is_active": "on", "sort_order": 9})
    assert response.status_code == 302, response.content.decode()[:2000]
    package = TokenPackage.objects.get(name="Enterprise")

    root.post(f"/admin/billing/tokenpackage/{package.pk}/change/", {
        "name": "Enterprise", "tokens": 1_000_000, "price_paise": 4_999_900,
        "currency": "INR", "sort_order": 9})  # "is_active" left unticked: off sale
    package.refresh_from_db()
    assert package.is_active is False
    assert "₹49,999.00" in root.get("/admin/billing/tokenpackage/").content.decode()
    assert root.post(f"/admin/billing/tokenpackage/{package.pk}/delete/",
                     {"post": "yes"}).status_code == 403
    assert TokenPackage.objects.filter(pk=package.pk).exists()


def test_an_sdr_cannot_open_any_billing_page_of_the_console(sdr):
    client = signed_in(sdr.user)
    for model in ("tokenpackage", "actionprice", "tokenledgerentry", "payment", "tokenwallet"):
        response = client.get(f"/admin/billing/{model}/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- prices -------------------------------------------------------------------------------

def test_a_manager_adds_a_price_for_their_tenant_through_the_service(console, org, manager):
    response = console.post("/admin/billing/actionprice/add/",
                            {"action": AiAction.REPLY, "tokens": 8})

    assert response.status_code == 302, response.content.decode()[:2000]
    price = ActionPrice.objects.get()
    assert (price.organization, price.action, price.tokens) == (org, AiAction.REPLY, 8)
    assert services.action_price(org, AiAction.REPLY) == 8
    event = AuditEvent.objects.for_org(org).get(action="action_price.set")
    assert event.data == {"action": "reply", "tokens": 8, "was": None}
    assert event.actor_user_id == manager.user_id
    listing = console.get("/admin/billing/actionprice/").content.decode()
    assert "AI reply" in listing


def test_a_second_price_for_the_same_action_is_a_form_error_not_a_crash(console, org):
    services.action_price_set(org=org, action=AiAction.REPLY, tokens=8, actor=SETUP_ACTOR)

    response = console.post("/admin/billing/actionprice/add/",
                            {"action": AiAction.REPLY, "tokens": 3})

    assert response.status_code == 200
    assert ("AI reply already has a price in this organization; change that one instead."
            in response.content.decode())
    assert ActionPrice.objects.for_org(org).get().tokens == 8


def test_another_tenant_pricing_an_action_does_not_stop_this_one(console, org, other_org):
    services.action_price_set(org=other_org, action=AiAction.REPLY, tokens=50, actor=SETUP_ACTOR)

    response = console.post("/admin/billing/actionprice/add/",
                            {"action": AiAction.REPLY, "tokens": 4})

    assert response.status_code == 302
    assert services.action_price(org, AiAction.REPLY) == 4
    assert services.action_price(other_org, AiAction.REPLY) == 50


def test_a_manager_changes_a_price_but_not_its_action(console, org):
    price = services.action_price_set(org=org, action=AiAction.REPLY, tokens=8, actor=SETUP_ACTOR)

    form = console.get(f"/admin/billing/actionprice/{price.pk}/change/").content.decode()
    assert 'name="tokens"' in form and 'name="action"' not in form
    response = console.post(f"/admin/billing/actionprice/{price.pk}/change/",
                            {"tokens": 12, "action": AiAction.CLASSIFICATION})

    assert response.status_code == 302
    price.refresh_from_db()
    assert (price.action, price.tokens) == (AiAction.REPLY, 12)
    assert ActionPrice.objects.count() == 1
    assert AuditEvent.objects.for_org(org).filter(action="action_price.set").last().data == {
        "action": "reply", "tokens": 12, "was": 8}


def test_a_price_above_the_limit_is_refused_on_the_form(console, org):
    response = console.post("/admin/billing/actionprice/add/",
                            {"action": AiAction.REPLY, "tokens": 1_000_001})
    assert response.status_code == 200
    assert "1000000" in response.content.decode()
    assert not ActionPrice.objects.exists()


def test_prices_are_scoped_to_the_managers_tenant(console, org, other_org):
    theirs = services.action_price_set(org=other_org, action=AiAction.QUALIFICATION,
                                       tokens=77, actor=SETUP_ACTOR)
    services.action_price_set(org=org, action=AiAction.REPLY, tokens=6, actor=SETUP_ACTOR)

    listing = console.get("/admin/billing/actionprice/").content.decode()

    assert "AI reply" in listing and "Qualification turn" not in listing
    assert console.get(f"/admin/billing/actionprice/{theirs.pk}/change/").status_code == 302
    console.post(f"/admin/billing/actionprice/{theirs.pk}/change/", {"tokens": 1})
    theirs.refresh_from_db()
    assert theirs.tokens == 77
    assert console.post(f"/admin/billing/actionprice/{theirs.pk}/delete/",
                        {"post": "yes"}).status_code == 403  # no one deletes a price
    assert ActionPrice.objects.filter(pk=theirs.pk).exists()


def test_a_superuser_sets_a_price_for_a_chosen_tenant_and_a_duplicate_is_refused(
    root, org, other_org
):
    response = root.post("/admin/billing/actionprice/add/",
                         {"organization": other_org.pk, "action": AiAction.REPLY, "tokens": 9})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert services.action_price(other_org, AiAction.REPLY) == 9

    again = root.post("/admin/billing/actionprice/add/",
                      {"organization": other_org.pk, "action": AiAction.REPLY, "tokens": 2})
    assert again.status_code == 200
    assert "already exists" in again.content.decode()
    price = ActionPrice.objects.for_org(other_org).get()
    assert price.tokens == 9

    changed = root.post(f"/admin/billing/actionprice/{price.pk}/change/",
                        {"tokens": 11, "organization": org.pk, "action": AiAction.QUALIFICATION})
    assert changed.status_code == 302
    price.refresh_from_db()
    assert (price.organization, price.action, price.tokens) == (other_org, AiAction.REPLY, 11)


def test_setting_a_price_validates_replaces_and_records_only_changes(org, manager):
    for action, tokens in (("teleport", 1), (AiAction.REPLY, -1), (AiAction.REPLY, 1_000_001),
                           (AiAction.REPLY, True), (AiAction.REPLY, "5")):
        with pytest.raises(ValidationFailed):
            services.action_price_set(org=org, action=action, tokens=tokens,
                                      actor=Actor.for_member(manager))

    first = services.action_price_set(org=org, action=AiAction.REPLY, tokens=0,
                                      actor=Actor.for_member(manager))
    again = services.action_price_set(org=org, action=AiAction.REPLY, tokens=0,
                                      actor=Actor.for_member(manager))
    # 0 makes the action free: nothing is charged.
    assert services.ai_action_charge(org=org, action=AiAction.REPLY,
                                     idempotency_key="free", actor=SETUP_ACTOR) is None
    later = services.action_price_set(org=org, action=AiAction.REPLY, tokens=3,
                                      actor=Actor.for_member(manager))

    assert first.pk == again.pk == later.pk and later.tokens == 3
    events = list(AuditEvent.objects.for_org(org).filter(action="action_price.set")
                  .order_by("id").values_list("data", "actor_user_id"))
    assert events == [({"action": "reply", "tokens": 0, "was": None}, manager.user_id),
                      ({"action": "reply", "tokens": 3, "was": 0}, manager.user_id)]


# --- the ledger, payments and wallets: read-only ------------------------------------------

def test_the_ledger_is_read_only_even_for_a_superuser(root, org):
    entry = credit(org, 500, reference="pay_abc").entry

    assert root.get("/admin/billing/tokenledgerentry/").status_code == 200
    assert root.get("/admin/billing/tokenledgerentry/add/").status_code == 403
    view = root.get(f"/admin/billing/tokenledgerentry/{entry.pk}/change/")
    assert view.status_code == 200
    page = view.content.decode()
    assert 'name="delta"' not in page and "pay_abc" in page
    assert root.post(f"/admin/billing/tokenledgerentry/{entry.pk}/change/",
                     {"delta": 999_999, "balance_after": 999_999}).status_code == 403
    assert root.post(f"/admin/billing/tokenledgerentry/{entry.pk}/delete/",
                     {"post": "yes"}).status_code == 403
    bulk = root.post("/admin/billing/tokenledgerentry/",
                     {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert (entry.delta, entry.balance_after) == (500, 500)
    assert TokenWallet.objects.for_org(org).get().balance == 500


def test_a_manager_reads_their_own_ledger_filtered_and_searched(console, org, other_org):
    credit(org, 500, reference="pay_ours")
    services.wallet_debit(org=org, amount=20, action=AiAction.REPLY,
                          idempotency_key="usage-reply-1", reference="msg_ours", actor=SETUP_ACTOR)
    credit(other_org, 700, reference="pay_theirs")
    theirs = TokenLedgerEntry.objects.for_org(other_org).get()

    page = console.get("/admin/billing/tokenledgerentry/").content.decode()
    assert "pay_ours" in page and "msg_ours" in page and "pay_theirs" not in page

    usage = console.get("/admin/billing/tokenledgerentry/", {"reason__exact": "usage"})
    assert "msg_ours" in usage.content.decode() and "pay_ours" not in usage.content.decode()
    by_action = console.get("/admin/billing/tokenledgerentry/", {"action__exact": "reply"})
    assert "msg_ours" in by_action.content.decode()
    by_key = console.get("/admin/billing/tokenledgerentry/", {"q": "usage-reply-1"})
    assert "msg_ours" in by_key.content.decode() and "pay_ours" not in by_key.content.decode()
    by_reference = console.get("/admin/billing/tokenledgerentry/", {"q": "pay_theirs"})
    assert "0 results" in by_reference.content.decode()

    assert console.get(f"/admin/billing/tokenledgerentry/{theirs.pk}/change/").status_code == 302


def test_payments_are_read_only_and_scoped_for_a_manager(console, org, other_org):
    package = make_package()
    ours = make_payment(org, package, receipt="flx_ours")
    theirs = make_payment(other_org, package, receipt="flx_theirs")

    page = console.get("/admin/billing/payment/").content.decode()
    assert "flx_ours" in page and "flx_theirs" not in page and "₹999.00" in page
    assert console.get(f"/admin/billing/payment/{ours.pk}/change/").status_code == 200
    assert console.get("/admin/billing/payment/add/").status_code == 403
    assert console.post(f"/admin/billing/payment/{ours.pk}/change/",
                        {"status": "refunded"}).status_code == 403
    assert console.post(f"/admin/billing/payment/{ours.pk}/delete/",
                        {"post": "yes"}).status_code == 403
    assert console.get(f"/admin/billing/payment/{theirs.pk}/change/").status_code == 302
    ours.refresh_from_db()
    assert ours.status == PaymentStatus.CAPTURED


def test_wallets_are_read_only_and_scoped(console, root, org, other_org):
    credit(org, 300)
    credit(other_org, 400)
    ours = TokenWallet.objects.for_org(org).get()

    page = console.get("/admin/billing/tokenwallet/").content.decode()
    assert org.name in page and other_org.name not in page
    for client in (console, root):
        assert client.get("/admin/billing/tokenwallet/add/").status_code == 403
        assert client.post(f"/admin/billing/tokenwallet/{ours.pk}/change/",
                           {"balance": 10**9, "low_balance_threshold": 0}).status_code == 403
    ours.refresh_from_db()
    assert (ours.balance, ours.low_balance_threshold) == (300, 1000)
    both = root.get("/admin/billing/tokenwallet/").content.decode()
    assert org.name in both and other_org.name in both


def test_the_console_index_shows_a_manager_the_billing_models(console):
    page = console.get("/admin/").content.decode()
    for name in ("Token packages", "Action prices", "Token ledger", "Payments",
                 "Token wallets"):
        assert name in page


def test_an_owner_manages_prices_like_a_manager(org):
    owner = make_membership(org, role=Role.OWNER)
    response = signed_in(owner.user).post("/admin/billing/actionprice/add/",
                                          {"action": AiAction.CLASSIFICATION, "tokens": 2})
    assert response.status_code == 302
    assert services.action_price(org, AiAction.CLASSIFICATION) == 2
