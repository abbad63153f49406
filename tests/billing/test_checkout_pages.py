"""The wallet page and buying a package through Razorpay Checkout, as a manager's browser
does it (without the browser: the sandbox's Pay endpoint stands in for its checkout.js)."""

import html
import json
import re
import socket

import pytest
import requests
from django.conf import settings

from billing import services
from billing.models import Payment, PaymentStatus, TokenLedgerEntry
from flexoraa.actors import Actor
from flexoraa.models import Role
from tests.billing.razorpay_support import make_package
from tests.billing.wallet_support import balance_of
from tests.factories import SETUP_ACTOR, make_membership

pytestmark = pytest.mark.django_db



def checkout_options(page: str) -> dict:
    found = re.search(r'<script id="razorpay-options" type="application/json">(.*?)</script>',
                      page, re.S)
    assert found, "the checkout page has no Razorpay options"
    return json.loads(found[1])


def sandbox_pay(options: dict, outcome: str = "captured") -> dict:
    """What the sandbox's checkout.js does when the payer presses Pay."""
    origin = settings.RAZORPAY_BASE_URL.removesuffix("/v1")
    return requests.post(f"{origin}/sandbox/checkout/pay", timeout=5, data=json.dumps(
        {"key": options["key"], "order_id": options["order_id"], "outcome": outcome})).json()


def test_a_manager_buys_a_package_end_to_end_against_the_sandbox(
    org, manager, token_package, razorpay_sandbox, razorpay_sandbox_server, login_client
):
    client = login_client(manager)

    wallet = client.get("/billing/").content.decode()
    assert 'action="/billing/buy/"' in wallet and f'value="{token_package.pk}"' in wallet

    checkout = client.post("/billing/buy/", {"package_id": token_package.pk})
    assert checkout.status_code == 200
    assert checkout["Cache-Control"] == "no-store"
    page = checkout.content.decode()
    payment = Payment.objects.for_org(org).get()
    assert payment.razorpay_order_id in page
    # The sandbox's checkout.js, which is what the settings point at in this test.
    assert f'<script src="{razorpay_sandbox_server.checkout_js_url}"></script>' in page
    options = checkout_options(page)
    assert options == {
        "key": settings.RAZORPAY_KEY_ID, "amount": 99_900, "currency": "INR",
        "order_id": payment.razorpay_order_id, "name": "Flexoraa",
        "description": "Test pack: 10,000 tokens", "notes": {"receipt": payment.receipt},
        "theme": {"color": "#3b5bdb"}, "prefill": {"email": manager.user.email},
    }
    assert 'action="/billing/checkout/callback/"' in page and "csrfmiddlewaretoken" in page

    handed = sandbox_pay(options)
    done = client.post("/billing/checkout/callback/", handed)

    assert done.status_code == 302 and done["Location"] == "/billing/"
    wallet = client.get("/billing/").content.decode()
    assert 'data-testid="wallet-balance">10,000<' in wallet
    assert "Payment received: 10,000 tokens are in your wallet." in wallet
    assert "Paid" in wallet and "₹999.00" in wallet
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    assert balance_of(org) == 10_000


def test_a_callback_posted_twice_credits_once(
    org, manager, token_package, razorpay_sandbox, login_client
):
    client = login_client(manager)
    options = checkout_options(
        client.post("/billing/buy/", {"package_id": token_package.pk}).content.decode())
    handed = sandbox_pay(options)

    for _ in range(2):
        assert client.post("/billing/checkout/callback/", handed).status_code == 302

    assert TokenLedgerEntry.objects.for_org(org).count() == 1
    assert balance_of(org) == 10_000


def test_a_tampered_callback_shows_the_reason_with_status_400_and_credits_nothing(
    org, manager, token_package, razorpay_sandbox, login_client
):
    client = login_client(manager)
    options = checkout_options(
        client.post("/billing/buy/", {"package_id": token_package.pk}).content.decode())
    handed = sandbox_pay(options)
    handed["razorpay_signature"] = "0" * 64

    response = client.post("/billing/checkout/callback/", handed)

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "The payment signature does not match; nothing was charged to your tokens." in page
    assert 'data-testid="wallet-balance">0<' in page
    assert not TokenLedgerEntry.objects.exists()
    assert Payment.objects.for_org(org).get().status == PaymentStatus.CREATED


def test_a_failed_payment_comes_back_to_the_wallet_with_razorpays_reason(
    org, manager, token_package, razorpay_sandbox, login_client
):
    client = login_client(manager)
    options = checkout_options(
        client.post("/billing/buy/", {"package_id": token_package.pk}).content.decode())
    order = options["order_id"]
    failed = razorpay_sandbox.payment_create(order, status="failed")

    response = client.post("/billing/checkout/callback/", {
        "razorpay_order_id": order, "razorpay_payment_id": failed["id"],
        "razorpay_signature": razorpay_sandbox.checkout_signature(order, failed["id"]),
    }, follow=True)

    page = html.unescape(response.content.decode())
    assert "The payment failed: Your payment didn't go through" in page
    assert balance_of(org) == 0


def test_a_callback_for_another_tenants_order_is_not_found(
    org, other_org, manager, token_package, razorpay_sandbox, login_client
):
    theirs = services.payment_order_create(org=other_org, package_id=token_package.pk,
                                           actor=SETUP_ACTOR)
    handed = sandbox_pay({"key": settings.RAZORPAY_KEY_ID, "order_id": theirs.razorpay_order_id})

    response = login_client(manager).post("/billing/checkout/callback/", handed)

    assert response.status_code == 404
    assert "no such order" in response.content.decode()
    assert not TokenLedgerEntry.objects.exists()


def test_an_unknown_package_shows_the_wallet_with_the_reason_and_status_400(
    manager, razorpay_sandbox, login_client
):
    response = login_client(manager).post("/billing/buy/", {"package_id": "999999"})

    assert response.status_code == 400
    assert "package_id: There is no package 999999 on sale." in response.content.decode()
    assert razorpay_sandbox.orders == {}
    assert not Payment.objects.exists()


def test_razorpay_unreachable_when_buying_shows_the_reason_with_status_502(
    manager, token_package, razorpay_sandbox, login_client, settings
):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.RAZORPAY_BASE_URL = f"http://127.0.0.1:{port}/v1"

    response = login_client(manager).post("/billing/buy/", {"package_id": token_package.pk})

    assert response.status_code == 502
    assert "Razorpay could not be reached" in response.content.decode()
    assert not Payment.objects.exists()


def test_an_sdr_cannot_buy_tokens(sdr, token_package, razorpay_sandbox, login_client):
    client = login_client(sdr)

    assert client.post("/billing/buy/", {"package_id": token_package.pk}).status_code == 403
    assert client.post("/billing/checkout/callback/", {}).status_code == 403
    assert razorpay_sandbox.orders == {}
    assert not Payment.objects.exists()


def test_an_sdr_can_neither_see_the_wallet_nor_buy(org, sdr, token_package, login_client):
    client = login_client(sdr)

    assert client.get("/billing/").status_code == 403
    assert client.post("/billing/buy/", {"package_id": token_package.pk}).status_code == 403


def test_buying_needs_a_post(manager, login_client):
    client = login_client(manager)

    assert client.get("/billing/buy/").status_code == 405
    assert client.get("/billing/checkout/callback/").status_code == 405


def test_anonymous_visitors_are_asked_to_sign_in(client):
    response = client.get("/billing/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/billing/"
    assert client.post("/billing/buy/", {"package_id": 1}).status_code == 302


def test_the_wallet_page_runs_a_fixed_number_of_queries(
    org, manager, razorpay_sandbox, login_client, django_assert_num_queries
):
    owner = make_membership(org, role=Role.OWNER)
    client = login_client(owner)
    client.get("/billing/")  # warm the session
    # Session, user, membership and tenant, wallet, packages, payments with their packages,
    # the latest ledger entries and the tenant's action prices.
    with django_assert_num_queries(8):
        assert client.get("/billing/").status_code == 200

    for package in [make_package(name=f"Pack {n}", tokens=1_000 * (n + 1)) for n in range(3)] * 4:
        services.payment_order_create(org=org, package_id=package.pk,
                                      actor=Actor.for_member(manager))
    with django_assert_num_queries(8):
        page = client.get("/billing/").content.decode()
    assert page.count('data-testid="payment-row"') == 10
