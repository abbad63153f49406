"""The Meta sandbox speaks Graph's send contract, so the adapter is tested against what Meta
answers: shapes, errors, windows, and signed status webhooks in the format the app's
endpoints accept."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from agents.meta_payloads import (
    instagram_seen_payload,
    messenger_delivery_payload,
    messenger_read_payload,
    meta_signature_valid,
)
from sandbox.meta import MetaSandbox
from sandbox.server import SandboxServer

SECRET = "test-app-secret"
PHONE_ID = "106540352242922"
DAY = 24 * 3600


@pytest.fixture
def graph():
    sandbox = MetaSandbox(SECRET)
    with SandboxServer(meta=sandbox) as server:
        yield sandbox, server.graph_url


def post(url, body, token="EAAG-token"):  # noqa: S107
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(url, json=body, headers=headers, timeout=5)


def text_body(to="16505551234", text="Hello"):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"preview_url": False, "body": text}}


def test_a_whatsapp_text_is_answered_in_graphs_documented_shape(graph):
    sandbox, url = graph
    response = post(f"{url}/{PHONE_ID}/messages", text_body(to="+16505551234"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "+16505551234", "wa_id": "16505551234"}]
    message_id = answer["messages"][0]["id"]
    assert message_id.startswith("wamid.")
    [record] = sandbox.sent()
    assert record["kind"] == "whatsapp" and record["channel_id"] == PHONE_ID
    assert record["token"] == "EAAG-token"
    assert record["body"]["text"]["body"] == "Hello"
    assert record["message_id"] == message_id


def test_a_send_without_a_bearer_token_is_refused_in_graphs_error_shape(graph):
    sandbox, url = graph
    response = post(f"{url}/{PHONE_ID}/messages", text_body(), token="")
    assert response.status_code == 401
    error = response.json()["error"]
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    assert sandbox.sent() == []


def test_text_over_4096_characters_is_refused(graph):
    sandbox, url = graph
    response = post(f"{url}/{PHONE_ID}/messages", text_body(text="x" * 4097))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert sandbox.sent() == []


def test_free_text_to_a_recipient_silent_for_a_day_is_a_re_engagement_error(graph):
    sandbox, url = graph
    sandbox.inbound(PHONE_ID, "16505551234", at=time.time() - DAY - 60)
    response = post(f"{url}/{PHONE_ID}/messages", text_body())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 131047
    assert "Re-engagement message" in error["message"]
    # A recent message opens it again, told through the control route.
    assert post(f"{url.rsplit('/', 1)[0]}/_sandbox/inbound",
                {"channel_id": PHONE_ID, "contact": "16505551234"}).status_code == 200
    assert post(f"{url}/{PHONE_ID}/messages", text_body()).status_code == 200


def test_unknown_recipients_are_closed_only_in_strict_mode(graph):
    sandbox, url = graph
    assert post(f"{url}/{PHONE_ID}/messages", text_body()).status_code == 200
    sandbox.strict_windows = True
    response = post(f"{url}/{PHONE_ID}/messages", text_body(to="16505550000"))
    assert response.json()["error"]["code"] == 131047


def test_a_template_goes_whatever_the_window_and_its_parameters_are_checked(graph):
    sandbox, url = graph
    sandbox.inbound(PHONE_ID, "16505551234", at=time.time() - 3 * DAY)
    template = {"name": "follow_up", "language": {"code": "en_US"},
                "components": [{"type": "body",
                                "parameters": [{"type": "text", "text": "Ada"}]}]}
    body = {"messaging_product": "whatsapp", "to": "16505551234", "type": "template",
            "template": template}
    assert post(f"{url}/{PHONE_ID}/messages", body).status_code == 200
    template["components"][0]["parameters"][0]["text"] = " "
    refused = post(f"{url}/{PHONE_ID}/messages", body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131008
    del template["language"]
    assert post(f"{url}/{PHONE_ID}/messages", body).status_code == 400


def test_messenger_allows_a_human_agent_reply_for_seven_days_only(graph):
    sandbox, url = graph
    page, psid = "1122334455", "9988776655"
    sandbox.inbound(page, psid, at=time.time() - 3 * DAY)
    response_body = {"recipient": {"id": psid}, "message": {"text": "Hi"},
                     "messaging_type": "RESPONSE"}
    outside = post(f"{url}/{page}/messages", response_body)
    assert outside.status_code == 400
    assert (outside.json()["error"]["code"], outside.json()["error"]["error_subcode"]) == (
        10, 2018278)
    tagged = {**response_body, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    answer = post(f"{url}/{page}/messages", tagged)
    assert answer.status_code == 200
    assert answer.json()["recipient_id"] == psid
    assert answer.json()["message_id"].startswith("m_")
    sandbox.inbound(page, psid, at=time.time() - 8 * DAY)
    assert post(f"{url}/{page}/messages", tagged).json()["error"]["code"] == 10


def test_instagram_text_is_limited_to_1000_characters(graph):
    sandbox, url = graph
    sandbox.channel_kind("17841400000000000", "instagram")
    body = {"recipient": {"id": "123"}, "message": {"text": "x" * 1001},
            "messaging_type": "RESPONSE"}
    assert post(f"{url}/17841400000000000/messages", body).status_code == 400
    body["message"]["text"] = "x" * 1000
    assert post(f"{url}/17841400000000000/messages", body).status_code == 200
    assert sandbox.sent()[0]["kind"] == "instagram"


def test_injected_failures_and_delays_hit_the_next_send_only(graph):
    sandbox, url = graph
    sandbox.fail_next(503, 2)
    failed = post(f"{url}/{PHONE_ID}/messages", text_body())
    assert failed.status_code == 503 and failed.json()["error"]["code"] == 2
    sandbox.delay_next(0.3)
    started = time.monotonic()
    assert post(f"{url}/{PHONE_ID}/messages", text_body()).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert len(sandbox.sent()) == 1


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_each_send_is_followed_by_signed_sent_delivered_read_webhooks(receiver):
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    sandbox = MetaSandbox(SECRET, {"whatsapp": f"{base}/webhooks/whatsapp/"})
    with SandboxServer(meta=sandbox) as server:
        body = {**text_body(), "biz_opaque_callback_data": "our-id-1"}
        message_id = post(f"{server.graph_url}/{PHONE_ID}/messages",
                          body).json()["messages"][0]["id"]
        assert sandbox.webhooks_wait(timeout=10)
    statuses = []
    for path, headers, raw in receiver.received:
        assert path == "/webhooks/whatsapp/"
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Hub-Signature-256"] == expected
        payload = json.loads(raw)
        assert payload["object"] == "whatsapp_business_account"
        value = payload["entry"][0]["changes"][0]["value"]
        assert value["metadata"]["phone_number_id"] == PHONE_ID
        [status] = value["statuses"]
        assert status["id"] == message_id
        assert status["recipient_id"] == "16505551234"
        assert status["biz_opaque_callback_data"] == "our-id-1"
        statuses.append(status["status"])
    assert statuses == ["sent", "delivered", "read"]


def test_messenger_and_instagram_sends_are_followed_by_receipts_in_metas_format(receiver):
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    page, account, person = "1122334455", "17841400000000000", "9988776655"
    sandbox = MetaSandbox(SECRET, {"messenger": f"{base}/webhooks/messenger/",
                                   "instagram": f"{base}/webhooks/instagram/"})
    sandbox.channel_kind(account, "instagram")
    body = {"recipient": {"id": person}, "message": {"text": "Hi"},
            "messaging_type": "RESPONSE"}
    with SandboxServer(meta=sandbox) as server:
        on_messenger = post(f"{server.graph_url}/{page}/messages", body).json()["message_id"]
        on_instagram = post(f"{server.graph_url}/{account}/messages", body).json()["message_id"]
        assert sandbox.webhooks_wait(timeout=10)
    received = {}
    for path, headers, raw in receiver.received:
        # What the app's endpoints check, on the exact bytes that arrived.
        assert meta_signature_valid(raw, headers["X-Hub-Signature-256"], SECRET)
        received.setdefault(path, []).append(json.loads(raw))
    messenger_delivery, messenger_read = received["/webhooks/messenger/"]
    watermark = messenger_delivery["entry"][0]["time"]
    assert messenger_delivery == messenger_delivery_payload(page, person, [on_messenger],
                                                            watermark)
    assert messenger_read == messenger_read_payload(page, person, watermark)
    [instagram_seen] = received["/webhooks/instagram/"]
    assert instagram_seen == instagram_seen_payload(
        account, person, on_instagram, instagram_seen["entry"][0]["time"])
