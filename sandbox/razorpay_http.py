"""The Razorpay sandbox's HTTP surface: the /v1 API the SDK calls (orders, payments,
captures, refunds), Checkout's script, and the /sandbox control routes tests and Checkout use."""

import base64
import hmac
import json
import re
import time

from sandbox.razorpay import (
    CHECKOUT_JS,
    RazorpayError,
    RazorpaySandbox,
    SandboxResponse,
)


def handle(
    sandbox: RazorpaySandbox, method: str, path: str, headers: dict, body: bytes
) -> SandboxResponse:
    """Answer one HTTP request. ``headers`` have lower-case names."""
    if method == "OPTIONS":
        return SandboxResponse(204, b"")
    if path == "/v1/checkout.js" and method == "GET":
        return SandboxResponse(200, CHECKOUT_JS.read_bytes(),
                               "application/javascript; charset=utf-8")
    try:
        if path.startswith("/v1/"):
            _authenticate(sandbox, headers)
            _trouble(sandbox)
            return SandboxResponse.json(_api(sandbox, method, path, _json(body)))
        if path.startswith("/sandbox/"):
            return _control(sandbox, method, path, headers, body)
    except RazorpayError as error:
        return SandboxResponse.json(error.body(), status=error.status)
    return SandboxResponse.json(RazorpayError("The requested URL was not found on the "
                                              "server.", status=404).body(), status=404)


def _authenticate(sandbox: RazorpaySandbox, headers: dict) -> None:
    expected = "Basic " + base64.b64encode(
        f"{sandbox.key_id}:{sandbox.key_secret}".encode()).decode()
    if not hmac.compare_digest(headers.get("authorization", "").encode(), expected.encode()):
        raise RazorpayError("Authentication failed", status=401)


def _trouble(sandbox: RazorpaySandbox) -> None:
    with sandbox._lock:
        delay = sandbox._delays.pop(0) if sandbox._delays else 0
        failure = sandbox._failures.pop(0) if sandbox._failures else None
    if delay:
        time.sleep(delay)
    if failure is not None:
        raise failure


def _json(body: bytes) -> dict:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise RazorpayError("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise RazorpayError("The request body must be a JSON object.")
    return data


def _api(sandbox: RazorpaySandbox, method: str, path: str, data: dict) -> dict:
    if (method, path) == ("POST", "/v1/orders"):
        return sandbox.order_create(amount=data.get("amount"), currency=data.get("currency"),
                                 receipt=data.get("receipt"), notes=data.get("notes"))
    match = re.fullmatch(r"/v1/orders/(order_\w+)(/payments)?", path)
    if match and method == "GET":
        order = sandbox.order_fetch(match[1])
        if not match[2]:
            return order
        with sandbox._lock:
            items = [dict(p) for p in sandbox.payments.values() if p["order_id"] == order["id"]]
        return {"entity": "collection", "count": len(items), "items": items}
    match = re.fullmatch(r"/v1/payments/(pay_\w+)(/capture|/refund)?", path)
    if match and method == "GET" and not match[2]:
        return sandbox.payment_fetch(match[1])
    if match and method == "POST" and match[2] == "/capture":
        return sandbox.payment_capture(match[1], amount=data.get("amount"),
                                    currency=data.get("currency"))
    if match and method == "POST" and match[2] == "/refund":
        return sandbox.refund_create(match[1], amount=data.get("amount"))
    if match or path.startswith(("/v1/orders", "/v1/payments")):
        raise RazorpayError("The id provided does not exist", field="id")
    raise RazorpayError("The requested URL was not found on the server.", status=404)


def _control(
    sandbox: RazorpaySandbox, method: str, path: str, headers: dict, body: bytes
) -> SandboxResponse:
    if (method, path) == ("POST", "/sandbox/checkout/pay"):
        return _checkout_pay(sandbox, _json(body))
    if (method, path) == ("POST", "/sandbox/payments"):
        _authenticate(sandbox, headers)
        data = _json(body)
        payment = sandbox.payment_create(
            str(data.get("order_id") or ""), status=data.get("status", "captured"),
            amount=data.get("amount"), currency=data.get("currency"),
        )
        return SandboxResponse.json({
            "payment": payment,
            "razorpay_signature": sandbox.checkout_signature(payment["order_id"],
                                                          payment["id"]),
        })
    if (method, path) == ("GET", "/sandbox/events"):
        with sandbox._lock:
            return SandboxResponse.json({
                "events": [{"event_id": e.event_id, "event": e.event_type}
                           for e in sandbox.events],
                "deliveries": list(sandbox.deliveries),
            })
    raise RazorpayError("The requested URL was not found on the server.", status=404)


def _checkout_pay(sandbox: RazorpaySandbox, data: dict) -> SandboxResponse:
    """What Checkout does when the payer presses Pay (or Fail): the sandbox makes the
    payment and signs the answer; the page computes nothing."""
    if not hmac.compare_digest(str(data.get("key", "")).encode(), sandbox.key_id.encode()):
        raise RazorpayError("The api key provided is invalid", status=401)
    outcome = "failed" if data.get("outcome") == "failed" else "captured"
    payment = sandbox.payment_create(str(data.get("order_id") or ""), status=outcome)
    if outcome == "failed":
        return SandboxResponse.json({"error": {
            "code": payment["error_code"], "description": payment["error_description"],
            "source": payment["error_source"], "step": payment["error_step"],
            "reason": payment["error_reason"],
            "metadata": {"order_id": payment["order_id"], "payment_id": payment["id"]},
        }})
    return SandboxResponse.json({
        "razorpay_payment_id": payment["id"], "razorpay_order_id": payment["order_id"],
        "razorpay_signature": sandbox.checkout_signature(payment["order_id"], payment["id"]),
    })
