"""The Google sandbox speaks Google's documented contract: OAuth token grants and their
errors, Gmail's history paging and 404, messages.list paging, messages.get and send."""

import base64
import json
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.google import GoogleSandbox
from sandbox.server import SandboxServer

CLIENT_ID, CLIENT_SECRET = "client.apps.googleusercontent.com", "secret"
BOX = "sales@example.test"


@pytest.fixture
def google():
    sandbox = GoogleSandbox(CLIENT_ID, CLIENT_SECRET, consent_address=BOX)
    with SandboxServer(google=sandbox) as server:
        yield sandbox, server.google_url


def api(base, path, token, **kwargs):
    method = kwargs.pop("method", "GET")
    return requests.request(method, f"{base}/gmail/v1/users/me/{path}", timeout=5,
                            headers={"Authorization": f"Bearer {token}"}, **kwargs)


def token_post(base, **form):
    return requests.post(f"{base}/token", timeout=5, data={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form})


def test_consent_redirects_back_with_a_code_that_buys_a_refresh_token(google):
    _sandbox, base = google
    answer = requests.get(f"{base}/auth", allow_redirects=False, timeout=5, params={
        "client_id": CLIENT_ID, "redirect_uri": "http://app.test/cb", "response_type": "code",
        "scope": "https://www.googleapis.com/auth/gmail.modify", "access_type": "offline",
        "prompt": "consent", "state": "s-1"})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://app.test/cb"
    assert query["state"] == ["s-1"]

    granted = token_post(base, grant_type="authorization_code", code=query["code"][0],
                         redirect_uri="http://app.test/cb")
    body = granted.json()
    assert granted.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] > 3000
    assert body["refresh_token"] and body["access_token"]
    profile = api(base, "profile", body["access_token"]).json()
    assert profile["emailAddress"] == BOX
    # A code works once.
    again = token_post(base, grant_type="authorization_code", code=query["code"][0],
                       redirect_uri="http://app.test/cb")
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_revoked_refresh_token_answers_invalid_grant(google):
    sandbox, base = google
    _access, refresh = sandbox.tokens_issue(BOX)
    fresh = token_post(base, grant_type="refresh_token", refresh_token=refresh)
    assert fresh.status_code == 200 and "refresh_token" not in fresh.json()
    sandbox.refresh_token_revoke(refresh)
    refused = token_post(base, grant_type="refresh_token", refresh_token=refresh)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant",
                              "error_description": "Token has been expired or revoked."}
    wrong_client = requests.post(f"{base}/token", timeout=5, data={
        "client_id": CLIENT_ID, "client_secret": "nope", "grant_type": "refresh_token",
        "refresh_token": refresh})
    assert wrong_client.json()["error"] == "invalid_client"


def test_gmail_needs_a_live_bearer_token(google):
    sandbox, base = google
    access, _refresh = sandbox.tokens_issue(BOX)
    assert api(base, "profile", access).status_code == 200
    sandbox.access_tokens_expire()
    expired = api(base, "profile", access)
    assert expired.status_code == 401
    assert expired.json()["error"]["status"] == "UNAUTHENTICATED"
    assert api(base, "profile", "made-up").status_code == 401


def test_history_pages_and_answers_404_once_forgotten(google):
    sandbox, base = google
    access, _refresh = sandbox.tokens_issue(BOX)
    start = api(base, "profile", access).json()["historyId"]
    ids = [sandbox.email_receive(BOX, f"p{n}@leads.test", f"Hi {n}", "Hello") for n in range(5)]
    seen, token, pages = [], "", 0
    while True:
        params = {"startHistoryId": start, "historyTypes": "messageAdded", "maxResults": 2}
        if token:
            params["pageToken"] = token
        page = api(base, "history", access, params=params).json()
        pages += 1
        for record in page["history"]:
            seen += [added["message"]["id"] for added in record["messagesAdded"]]
            assert record["messagesAdded"][0]["message"]["labelIds"] == ["INBOX", "UNREAD"]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert seen == ids and pages == 3
    assert int(page["historyId"]) > int(start)

    sandbox.history_forget_before(int(page["historyId"]))
    gone = api(base, "history", access, params={"startHistoryId": start})
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == 404
    assert gone.json()["error"]["message"] == "Requested entity was not found."
    assert gone.json()["error"]["status"] == "NOT_FOUND"


def test_messages_list_pages_newest_first_and_get_returns_the_full_payload(google):
    sandbox, base = google
    access, _refresh = sandbox.tokens_issue(BOX)
    ids = [sandbox.email_receive(BOX, f"Lead {n} <l{n}@leads.test>", f"Subject {n}",
                                 f"Body {n}") for n in range(3)]
    first = api(base, "messages", access, params={"maxResults": 2, "labelIds": "INBOX"}).json()
    assert [m["id"] for m in first["messages"]] == [ids[2], ids[1]]
    assert first["resultSizeEstimate"] == 3
    second = api(base, "messages", access, params={
        "maxResults": 2, "pageToken": first["nextPageToken"]}).json()
    assert [m["id"] for m in second["messages"]] == [ids[0]]
    assert "nextPageToken" not in second

    full = api(base, f"messages/{ids[0]}", access, params={"format": "full"}).json()
    headers = {h["name"]: h["value"] for h in full["payload"]["headers"]}
    assert headers["From"] == "Lead 0 <l0@leads.test>" and headers["Subject"] == "Subject 0"
    assert headers["Message-ID"].startswith("<")
    plain = next(p for p in full["payload"]["parts"] if p["mimeType"] == "text/plain")
    data = plain["body"]["data"]
    assert base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode().strip() == "Body 0"
    assert full["internalDate"].isdigit() and full["threadId"] == ids[0]
    assert api(base, "messages/unknown", access).status_code == 404


def test_send_takes_a_base64url_email_and_records_it_as_sent(google):
    sandbox, base = google
    access, _refresh = sandbox.tokens_issue(BOX)
    raw = (b"From: sales@example.test\r\nTo: lead@leads.test\r\nSubject: Quote\r\n\r\n"
           b"Here it is.\r\n")
    answer = api(base, "messages/send", access, method="POST",
                 data=json.dumps({"raw": base64.urlsafe_b64encode(raw).decode()}))
    body = answer.json()
    assert answer.status_code == 200 and body["labelIds"] == ["SENT"]
    (sent,) = sandbox.sent()
    assert sent["id"] == body["id"]
    assert message_from_bytes(sent["raw"], policy=policy.default)["To"] == "lead@leads.test"
    # Our own send shows up in history like any new message, labelled SENT.
    history = api(base, "history", access, params={"startHistoryId": "1000"}).json()
    assert history["history"][-1]["messagesAdded"][0]["message"]["labelIds"] == ["SENT"]
    bad = api(base, "messages/send", access, method="POST", data=json.dumps({"raw": "!!"}))
    assert bad.status_code == 400
