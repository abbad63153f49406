"""A local Google: the OAuth consent screen and token endpoint, and the slice of the Gmail v1
API that mailbox polling and sending use (shared/PROVIDER_CONTRACTS.md §2e).

Routes (the query string arrives on the path; Gmail routes need ``Authorization: Bearer``):

    GET  /google/auth                                   consent: approves at once, 302 back
    POST /google/token                                  grant_type=authorization_code|refresh_token
    GET  /google/gmail/v1/users/me/profile
    GET  /google/gmail/v1/users/me/history?startHistoryId=…&pageToken=…&maxResults=…
    GET  /google/gmail/v1/users/me/messages?q=…&labelIds=…&pageToken=…&maxResults=…
    GET  /google/gmail/v1/users/me/messages/<id>?format=full
    GET  /google/gmail/v1/users/me/threads/<id>?format=metadata
    POST /google/gmail/v1/users/me/messages/send        {"raw": base64url RFC 822, "threadId"}

Errors have Google's shapes: OAuth ``{"error": "invalid_grant", "error_description": …}``,
Gmail ``{"error": {"code", "message", "status"}}``. Tests drive it in Python too:
``email_receive``, ``history_forget_before``, ``refresh_token_revoke``,
``access_tokens_expire``, ``sent``, ``consent_as``.
"""

import base64
import email
import email.policy
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox.razorpay import SandboxResponse

ACCESS_TOKEN_SECONDS = 3599
GMAIL_PREFIX = "/google/gmail/v1/users/me/"
DEFAULT_PAGE = 100
MAX_PAGE = 500
REVOKED = "Token has been expired or revoked."


def b64url(data: bytes) -> str:
    # Gmail sends body data as base64url without padding; readers must add it back.
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def gmail_error(status: int, message: str, code: str) -> SandboxResponse:
    return SandboxResponse.json({"error": {"code": status, "message": message,
                                           "errors": [{"message": message, "domain": "global",
                                                       "reason": code.lower()}],
                                           "status": code}}, status=status)


def oauth_error(error: str, description: str, status: int = 400) -> SandboxResponse:
    return SandboxResponse.json({"error": error, "error_description": description},
                                status=status)


@dataclass
class Mailbox:
    address: str
    history_id: int = 1000
    # Records older than this are forgotten: a startHistoryId below it answers 404.
    oldest_history_id: int = 1000
    messages: dict[str, dict] = field(default_factory=dict)
    # (history id, message id), oldest first.
    history: list[tuple[int, str]] = field(default_factory=list)

    def history_next(self) -> int:
        # Gmail's history ids grow but are not contiguous.
        self.history_id += secrets.choice((1, 2, 3, 5, 8))
        return self.history_id


class GoogleSandbox:
    def __init__(self, client_id: str, client_secret: str, *,
                 consent_address: str = "sales@example.test"):
        self.client_id = client_id
        self.client_secret = client_secret
        self._lock = threading.RLock()
        self._default_consent = consent_address
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.mailboxes: dict[str, Mailbox] = {}
            self.refresh_tokens: dict[str, str] = {}
            self.access_tokens: dict[str, tuple[str, float]] = {}
            self.codes: dict[str, tuple[str, str]] = {}
            self._sent: list[dict] = []
            self.requests: list[tuple[str, str]] = []
            self.consent_address = self._default_consent

    # --- control, for tests -----------------------------------------------------------------

    def mailbox(self, address: str) -> Mailbox:
        address = address.lower()
        with self._lock:
            if address not in self.mailboxes:
                self.mailboxes[address] = Mailbox(address=address)
            return self.mailboxes[address]

    def consent_as(self, address: str) -> None:
        """The Google account that approves the next consent screens."""
        self.consent_address = address.lower()

    def tokens_issue(self, address: str) -> tuple[str, str]:
        """``(access_token, refresh_token)`` for a mailbox, as a finished consent gives."""
        self.mailbox(address)
        with self._lock:
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = address.lower()
            return self._access_issue(address.lower()), refresh

    def email_receive(self, mailbox: str, from_: str, subject: str, text: str, *,
                      thread_id: str = "", at: datetime | None = None,
                      html: str | None = None) -> str:
        """A new email lands in the mailbox's inbox; returns its Gmail id."""
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = from_
        message["To"] = mailbox
        message["Subject"] = subject
        message["Date"] = format_datetime(at or datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="mail.example.test")
        if thread_id:
            parent = self._thread_last(mailbox, thread_id)
            if parent is not None:
                message["In-Reply-To"] = parent
                message["References"] = parent
        message.set_content(text)
        message.add_alternative(html or f"<p>{text}</p>", subtype="html")
        return self._store(mailbox, message.as_bytes(), ["INBOX", "UNREAD"],
                           thread_id=thread_id, at=at)

    def history_forget_before(self, history_id: int | str) -> None:
        """Gmail keeps history for a limited time: an older startHistoryId answers 404."""
        with self._lock:
            for box in self.mailboxes.values():
                box.oldest_history_id = int(history_id)
                box.history = [record for record in box.history if record[0] >= int(history_id)]

    def refresh_token_revoke(self, token: str) -> None:
        with self._lock:
            address = self.refresh_tokens.pop(token, None)
            self.access_tokens = {key: value for key, value in self.access_tokens.items()
                                  if value[0] != address}

    def access_tokens_expire(self) -> None:
        with self._lock:
            self.access_tokens = {key: (address, 0.0)
                                  for key, (address, _) in self.access_tokens.items()}

    def sent(self) -> list[dict]:
        """What ``messages/send`` accepted: ``{id, threadId, raw, message}`` per email, with
        ``message`` the parsed ``email.message.EmailMessage``."""
        with self._lock:
            return list(self._sent)

    # --- the mailbox, inside ----------------------------------------------------------------

    def _store(self, address: str, raw: bytes, labels: list[str], *, thread_id: str = "",
               at: datetime | None = None) -> str:
        box = self.mailbox(address)
        with self._lock:
            message_id = secrets.token_hex(8)
            if not thread_id or not any(m["threadId"] == thread_id
                                        for m in box.messages.values()):
                thread_id = message_id
            history_id = box.history_next()
            box.messages[message_id] = {
                "id": message_id, "threadId": thread_id, "labelIds": list(labels),
                "historyId": str(history_id),
                "internalDate": str(int((at or datetime.now(UTC)).timestamp() * 1000)),
                "raw": raw,
            }
            box.history.append((history_id, message_id))
            return message_id

    def _thread_last(self, address: str, thread_id: str) -> str | None:
        box = self.mailbox(address)
        with self._lock:
            found = [m for m in box.messages.values() if m["threadId"] == thread_id]
        if not found:
            return None
        parsed = email.message_from_bytes(found[-1]["raw"], policy=email.policy.default)
        return parsed["Message-ID"]

    def _access_issue(self, address: str) -> str:
        token = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[token] = (address, time.monotonic() + ACCESS_TOKEN_SECONDS)
        return token

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> SandboxResponse:
        parts = urlsplit(path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((method, parts.path))
        if parts.path == "/google/auth" and method == "GET":
            return self._consent(query)
        if parts.path == "/google/token" and method == "POST":
            form = {key: values[-1]
                    for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
            return self._token(form)
        if not parts.path.startswith(GMAIL_PREFIX):
            return gmail_error(404, "Requested entity was not found.", "NOT_FOUND")
        address = self._bearer(headers)
        if address is None:
            return gmail_error(401, "Request had invalid authentication credentials. Expected "
                                    "OAuth 2 access token, login cookie or other valid "
                                    "authentication credential.", "UNAUTHENTICATED")
        route = parts.path[len(GMAIL_PREFIX):]
        if route == "profile" and method == "GET":
            return self._profile(address)
        if route == "history" and method == "GET":
            return self._history(address, query)
        if route == "messages" and method == "GET":
            return self._messages(address, query)
        if route == "messages/send" and method == "POST":
            return self._send(address, body)
        if route.startswith("messages/") and method == "GET":
            return self._message(address, route[len("messages/"):], query)
        if route.startswith("threads/") and method == "GET":
            return self._thread(address, route[len("threads/"):])
        return gmail_error(404, "Requested entity was not found.", "NOT_FOUND")

    def _bearer(self, headers: dict) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            found = self.access_tokens.get(token.strip())
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def _consent(self, query: dict) -> SandboxResponse:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri.startswith(
            ("http://", "https://")
        ):
            return SandboxResponse(400, b"Error 400: invalid_request", "text/plain")
        if query.get("response_type") != "code":
            return SandboxResponse(400, b"Error 400: unsupported_response_type", "text/plain")
        code = "4/" + secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = (self.consent_address, redirect_uri)
        self.mailbox(self.consent_address)
        answer = {"code": code, "scope": query.get("scope", "")}
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        location = f"{redirect_uri}{separator}{urlencode(answer)}"
        return RedirectResponse.to(location)

    def _token(self, form: dict) -> SandboxResponse:
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                   self.client_secret):
            return oauth_error("invalid_client", "The OAuth client was not found.", 401)
        grant = form.get("grant_type")
        scope = "https://www.googleapis.com/auth/gmail.modify"
        with self._lock:
            if grant == "refresh_token":
                address = self.refresh_tokens.get(form.get("refresh_token", ""))
                if address is None:
                    return oauth_error("invalid_grant", REVOKED)
                return SandboxResponse.json({
                    "access_token": self._access_issue(address),
                    "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer", "scope": scope,
                })
            if grant == "authorization_code":
                found = self.codes.pop(form.get("code", ""), None)
                if found is None or found[1] != form.get("redirect_uri"):
                    return oauth_error("invalid_grant", "Malformed auth code.")
                address = found[0]
                refresh = "1//" + secrets.token_urlsafe(32)
                self.refresh_tokens[refresh] = address
                return SandboxResponse.json({
                    "access_token": self._access_issue(address), "refresh_token": refresh,
                    "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer", "scope": scope,
                })
        return oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _profile(self, address: str) -> SandboxResponse:
        box = self.mailbox(address)
        with self._lock:
            return SandboxResponse.json({
                "emailAddress": box.address, "messagesTotal": len(box.messages),
                "threadsTotal": len({m["threadId"] for m in box.messages.values()}),
                "historyId": str(box.history_id),
            })

    def _history(self, address: str, query: dict) -> SandboxResponse:
        try:
            start = int(query.get("startHistoryId", ""))
        except ValueError:
            return gmail_error(400, "Invalid startHistoryId", "INVALID_ARGUMENT")
        size, offset = _page_args(query)
        box = self.mailbox(address)
        with self._lock:
            if start < box.oldest_history_id:
                return gmail_error(404, "Requested entity was not found.", "NOT_FOUND")
            records = []
            for history_id, message_id in box.history:
                if history_id <= start:
                    continue
                message = box.messages[message_id]
                ref = {"id": message_id, "threadId": message["threadId"]}
                records.append({
                    "id": str(history_id), "messages": [ref],
                    "messagesAdded": [{"message": {**ref,
                                                   "labelIds": list(message["labelIds"])}}],
                })
            answer = {"historyId": str(box.history_id)}
        page = records[offset:offset + size]
        if page:
            answer["history"] = page
        if offset + size < len(records):
            answer["nextPageToken"] = _page_token(offset + size)
        return SandboxResponse.json(answer)

    def _messages(self, address: str, query: dict) -> SandboxResponse:
        size, offset = _page_args(query)
        box = self.mailbox(address)
        labels = [label for label in query.get("labelIds", "").split(",") if label]
        with self._lock:
            found = [m for m in reversed(list(box.messages.values()))
                     if all(label in m["labelIds"] for label in labels)
                     and _matches(m, query.get("q", ""))]
        page = found[offset:offset + size]
        answer = {"messages": [{"id": m["id"], "threadId": m["threadId"]} for m in page],
                  "resultSizeEstimate": len(found)}
        if not page:
            del answer["messages"]
        if offset + size < len(found):
            answer["nextPageToken"] = _page_token(offset + size)
        return SandboxResponse.json(answer)

    def _message(self, address: str, message_id: str, query: dict) -> SandboxResponse:
        box = self.mailbox(address)
        with self._lock:
            message = box.messages.get(message_id)
        if message is None:
            return gmail_error(404, "Requested entity was not found.", "NOT_FOUND")
        answer = {key: message[key]
                  for key in ("id", "threadId", "labelIds", "historyId", "internalDate")}
        parsed = email.message_from_bytes(message["raw"], policy=email.policy.default)
        answer["snippet"] = _text_of(parsed)[:100]
        answer["sizeEstimate"] = len(message["raw"])
        if query.get("format") == "raw":
            answer["raw"] = b64url(message["raw"])
        else:
            answer["payload"] = _payload(parsed, with_bodies=query.get("format") != "metadata")
        return SandboxResponse.json(answer)

    def _thread(self, address: str, thread_id: str) -> SandboxResponse:
        box = self.mailbox(address)
        with self._lock:
            found = [m for m in box.messages.values() if m["threadId"] == thread_id]
        if not found:
            return gmail_error(404, "Requested entity was not found.", "NOT_FOUND")
        messages = []
        for message in found:
            parsed = email.message_from_bytes(message["raw"], policy=email.policy.default)
            messages.append({"id": message["id"], "threadId": thread_id,
                             "labelIds": message["labelIds"], "historyId": message["historyId"],
                             "payload": _payload(parsed, with_bodies=False)})
        return SandboxResponse.json({"id": thread_id, "historyId": found[-1]["historyId"],
                                     "messages": messages})

    def _send(self, address: str, body: bytes) -> SandboxResponse:
        import json

        try:
            request = json.loads(body or b"{}")
            raw = b64url_decode(request["raw"])
        except (ValueError, KeyError, TypeError):
            return gmail_error(400, "Invalid value for ByteString", "INVALID_ARGUMENT")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        if not parsed["To"]:
            return gmail_error(400, "Invalid To header", "INVALID_ARGUMENT")
        thread_id = str(request.get("threadId") or "")
        message_id = self._store(address, raw, ["SENT"], thread_id=thread_id)
        with self._lock:
            stored = self.mailboxes[address].messages[message_id]
            self._sent.append({"id": message_id, "threadId": stored["threadId"], "raw": raw,
                               "message": parsed})
        return SandboxResponse.json({"id": message_id, "threadId": stored["threadId"],
                                     "labelIds": ["SENT"]})


@dataclass(frozen=True)
class RedirectResponse(SandboxResponse):
    """A 302 to ``location`` (the server sends a response's ``headers``), with a link in the
    body for a client that does not follow it."""

    location: str = ""

    @classmethod
    def to(cls, location: str) -> "RedirectResponse":
        escaped = location.replace("&", "&amp;").replace('"', "&quot;")
        body = f'<p>Access granted. <a href="{escaped}">Continue</a></p>'.encode()
        return cls(302, body, "text/html; charset=utf-8", location=location)

    @property
    def headers(self) -> dict:
        return {"Location": self.location}


def _page_args(query: dict) -> tuple[int, int]:
    try:
        size = int(query.get("maxResults") or DEFAULT_PAGE)
    except ValueError:
        size = DEFAULT_PAGE
    size = max(1, min(size, MAX_PAGE))
    token = query.get("pageToken", "")
    try:
        offset = int(b64url_decode(token).decode()) if token else 0
    except ValueError:
        offset = 0
    return size, max(0, offset)


def _page_token(offset: int) -> str:
    return b64url(str(offset).encode())


def _matches(message: dict, q: str) -> bool:
    """The few search operators the app uses: in:<label>, from:<address>, newer_than:<n>d."""
    parsed = None
    for term in q.split():
        name, _, value = term.partition(":")
        if name == "in":
            if value.upper() not in message["labelIds"]:
                return False
        elif name == "from":
            parsed = parsed or email.message_from_bytes(message["raw"],
                                                        policy=email.policy.default)
            if value.lower() not in parseaddr(str(parsed["From"]))[1].lower():
                return False
        elif name == "newer_than" and re.fullmatch(r"\d+d", value):
            since = datetime.now(UTC) - timedelta(days=int(value[:-1]))
            if int(message["internalDate"]) < since.timestamp() * 1000:
                return False
    return True


def _payload(part, *, with_bodies: bool) -> dict:
    headers = [{"name": name, "value": str(value)} for name, value in part.items()]
    answer = {"partId": "", "mimeType": part.get_content_type(), "filename": "",
              "headers": headers}
    if part.is_multipart():
        answer["body"] = {"size": 0}
        answer["parts"] = [_payload(child, with_bodies=with_bodies)
                           for child in part.iter_parts()]
        for index, child in enumerate(answer["parts"]):
            child["partId"] = str(index)
    else:
        data = part.get_payload(decode=True) or b""
        answer["body"] = {"size": len(data)}
        if with_bodies:
            answer["body"]["data"] = b64url(data)
    return answer


def _text_of(parsed) -> str:
    part = parsed.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
