"""The one Gmail adapter: Google's OAuth token endpoint and the Gmail v1 API over HTTP.

Base URLs, client credentials and the timeout come from settings, so tests and ``make run``
talk to the local sandbox (sandbox/google.py) and production to Google. Vendor
errors become ours: ``MailboxAuthRevoked`` for ``invalid_grant``, ``HistoryGone`` when the
stored historyId is too old (HTTP 404, shared/PROVIDER_CONTRACTS.md §2e),
``AccessTokenRejected`` for a 401, ``ProviderUnavailable`` for timeouts, 429 and 5xx, and
``ProviderRefused`` for any other refusal.
"""

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.html import strip_tags

from agents.errors import (
    MailboxAuthRevoked,
    MessageInvalid,
    ProviderRefused,
    ProviderUnavailable,
)

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/gmail.modify"
PAGE_SIZE = 500
# A token this close to its end is refreshed before use rather than failing mid-poll.
EXPIRY_MARGIN = timedelta(minutes=5)
SUBJECT_MAX = 300


class HistoryGone(Exception):
    """users.history.list answered 404: the startHistoryId is out of date; do a full sync."""


class AccessTokenRejected(Exception):
    """Gmail answered 401 to the access token (expired early or revoked): refresh and retry."""


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_at: datetime
    refresh_token: str = ""  # only when exchanging an authorization code


@dataclass(frozen=True)
class Profile:
    email: str
    history_id: str


@dataclass(frozen=True)
class MessageRef:
    id: str
    thread_id: str
    label_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryResult:
    added: list[MessageRef]  # oldest first, each id once
    history_id: str  # the mailbox's latest historyId, where the next poll starts


@dataclass(frozen=True)
class GmailMessage:
    id: str
    thread_id: str
    label_ids: tuple[str, ...]
    history_id: str
    internal_date: datetime
    from_address: str  # lower-cased
    from_name: str
    to: str
    subject: str
    message_id_header: str
    text: str


# --- HTTP -----------------------------------------------------------------------------------

def _call(method: str, url: str, **kwargs) -> requests.Response:
    try:
        response = requests.request(method, url, timeout=settings.PROVIDER_TIMEOUT_SECONDS,
                                    **kwargs)
    except requests.RequestException as exc:
        raise ProviderUnavailable("Gmail could not be reached; it will be tried again.") from exc
    if response.status_code == 429 or response.status_code >= 500:
        logger.warning("gmail unavailable", extra={"status": response.status_code})
        raise ProviderUnavailable("Gmail is not answering right now; it will be tried again.")
    return response


def _json(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise ProviderUnavailable("Gmail answered something that is not JSON.") from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable("Gmail answered something unexpected.")
    return data


def _api(method: str, path: str, *, access_token: str, params=None, json=None) -> dict:
    url = f"{settings.GMAIL_API_URL.rstrip('/')}/gmail/v1/users/me/{path}"
    response = _call(method, url, params=params, json=json,
                     headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code == 401:
        raise AccessTokenRejected()
    if response.status_code == 404 and path == "history":
        raise HistoryGone()
    if response.status_code >= 400:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        status = str(error.get("status") or response.status_code) if isinstance(
            error, dict) else str(response.status_code)
        raise ProviderRefused(f"Gmail refused the request ({status}).", provider_code=status)
    return _json(response)


def _token_request(form: dict) -> TokenGrant:
    response = _call("POST", settings.GOOGLE_OAUTH_TOKEN_URL, data={
        **form, "client_id": settings.GOOGLE_CLIENT_ID,
        "client_secret": settings.GOOGLE_CLIENT_SECRET,
    })
    data = _json(response)
    if response.status_code >= 400:
        error = str(data.get("error") or response.status_code)
        if error == "invalid_grant":
            raise MailboxAuthRevoked(
                "Google no longer accepts this mailbox's authorization (revoked or expired); "
                "a manager must connect it again."
            )
        raise ProviderRefused(f"Google refused the token request ({error}).",
                              provider_code=error)
    try:
        seconds = int(data.get("expires_in") or 3600)
        return TokenGrant(access_token=str(data["access_token"]),
                          expires_at=timezone.now() + timedelta(seconds=seconds),
                          refresh_token=str(data.get("refresh_token") or ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderUnavailable("Google's token answer had no access token.") from exc


# --- OAuth ----------------------------------------------------------------------------------

def access_token_refresh(channel) -> tuple[str, datetime]:
    """A new access token from the channel's stored refresh token. Raises
    ``MailboxAuthRevoked`` when Google answers invalid_grant."""
    if not channel.refresh_token:
        raise MailboxAuthRevoked("This mailbox has no refresh token; connect it again.")
    grant = _token_request({"grant_type": "refresh_token",
                            "refresh_token": channel.refresh_token})
    return grant.access_token, grant.expires_at


def access_token_usable(channel, now: datetime | None = None) -> bool:
    expires_at = channel.access_token_expires_at
    return bool(channel.access_token) and expires_at is not None and (
        expires_at - EXPIRY_MARGIN > (now or timezone.now())
    )


def authorization_code_exchange(*, code: str, redirect_uri: str) -> TokenGrant:
    """Trade the consent screen's code for tokens. Raises ``ProviderRefused`` for a bad code
    (Google says invalid_grant for that too, so it is not a revoked mailbox here)."""
    try:
        grant = _token_request({"grant_type": "authorization_code", "code": code,
                                "redirect_uri": redirect_uri})
    except MailboxAuthRevoked as exc:
        raise ProviderRefused("Google did not accept the authorization code; try connecting "
                              "again.", provider_code="invalid_grant") from exc
    if not grant.refresh_token:
        raise ProviderRefused("Google gave no refresh token; connect again and grant offline "
                              "access.", provider_code="no_refresh_token")
    return grant


# --- reading --------------------------------------------------------------------------------

def profile_get(*, access_token: str) -> Profile:
    data = _api("GET", "profile", access_token=access_token)
    return Profile(email=str(data.get("emailAddress", "")).lower(),
                   history_id=str(data.get("historyId", "")))


def history_list(*, access_token: str, start_history_id: str) -> HistoryResult:
    """Every message added since ``start_history_id``, following nextPageToken to the end.
    Raises ``HistoryGone`` (404), ``AccessTokenRejected``, ``ProviderUnavailable``."""
    added: dict[str, MessageRef] = {}
    latest = start_history_id
    page_token = ""
    while True:
        params = {"startHistoryId": start_history_id, "historyTypes": "messageAdded",
                  "maxResults": PAGE_SIZE}
        if page_token:
            params["pageToken"] = page_token
        data = _api("GET", "history", access_token=access_token, params=params)
        for record in data.get("history") or []:
            for item in record.get("messagesAdded") or []:
                message = item.get("message") or {}
                if message.get("id") and message["id"] not in added:
                    added[message["id"]] = MessageRef(
                        id=str(message["id"]), thread_id=str(message.get("threadId", "")),
                        label_ids=tuple(message.get("labelIds") or ()),
                    )
        latest = str(data.get("historyId") or latest)
        page_token = data.get("nextPageToken") or ""
        if not page_token:
            return HistoryResult(added=list(added.values()), history_id=latest)


def messages_list(*, access_token: str, query: str = "", label_ids: tuple[str, ...] = (),
                  limit: int = PAGE_SIZE) -> list[MessageRef]:
    """Up to ``limit`` messages, newest first, following nextPageToken."""
    found: list[MessageRef] = []
    page_token = ""
    while len(found) < limit:
        params = {"maxResults": min(PAGE_SIZE, limit - len(found))}
        if query:
            params["q"] = query
        if label_ids:
            params["labelIds"] = ",".join(label_ids)
        if page_token:
            params["pageToken"] = page_token
        data = _api("GET", "messages", access_token=access_token, params=params)
        found.extend(MessageRef(id=str(m["id"]), thread_id=str(m.get("threadId", "")))
                     for m in data.get("messages") or [] if m.get("id"))
        page_token = data.get("nextPageToken") or ""
        if not page_token:
            break
    return found[:limit]


def message_get(*, access_token: str, message_id: str) -> GmailMessage:
    data = _api("GET", f"messages/{message_id}", access_token=access_token,
                params={"format": "full"})
    payload = data.get("payload") or {}
    headers = _headers(payload)
    name, address = parseaddr(headers.get("from", ""))
    try:
        at = datetime.fromtimestamp(int(data.get("internalDate")) / 1000, tz=UTC)
    except (TypeError, ValueError):
        at = timezone.now()
    return GmailMessage(
        id=str(data.get("id", message_id)), thread_id=str(data.get("threadId", "")),
        label_ids=tuple(data.get("labelIds") or ()), history_id=str(data.get("historyId", "")),
        internal_date=at, from_address=address.lower(), from_name=name,
        to=headers.get("to", ""), subject=headers.get("subject", "")[:SUBJECT_MAX],
        message_id_header=headers.get("message-id", ""), text=_text(payload),
    )


def _headers(payload: dict) -> dict[str, str]:
    return {str(h.get("name", "")).lower(): str(h.get("value", ""))
            for h in payload.get("headers") or []}


def _decode(part: dict) -> str:
    data = (part.get("body") or {}).get("data") or ""
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    content_type = _headers(part).get("content-type", "")
    charset = "utf-8"
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _parts(payload: dict):
    yield payload
    for child in payload.get("parts") or []:
        yield from _parts(child)


def _text(payload: dict) -> str:
    """The text/plain part; an HTML-only email falls back to its text without the tags."""
    parts = [p for p in _parts(payload) if not (p.get("filename") or "")]
    for mime, convert in (("text/plain", str), ("text/html", strip_tags)):
        for part in parts:
            if part.get("mimeType") == mime:
                return convert(_decode(part)).replace("\r\n", "\n").strip()
    return ""


# --- sending --------------------------------------------------------------------------------

def _thread_parent(access_token: str, thread_id: str) -> tuple[str, str, str]:
    """``(Message-ID, References, Subject)`` of the thread's last message, so a reply lands in
    the same conversation in the lead's mail client as well as in Gmail's thread."""
    data = _api("GET", f"threads/{thread_id}", access_token=access_token,
                params={"format": "metadata"})
    messages = data.get("messages") or []
    if not messages:
        return "", "", ""
    headers = _headers(messages[-1].get("payload") or {})
    return headers.get("message-id", ""), headers.get("references", ""), headers.get(
        "subject", "")


def message_build(*, sender: str, to: str, subject: str, body: str, in_reply_to: str = "",
                  references: str = "") -> EmailMessage:
    """An RFC 822 email. Raises ``MessageInvalid`` for a bad address or a header that would
    break the email (a line break in the subject)."""
    address = parseaddr(to)[1]
    try:
        validate_email(address)
    except ValidationError as exc:
        raise MessageInvalid("to: not an email address.",
                             fields={"to": ["Not an email address."]}) from exc
    if any(ch in subject for ch in "\r\n") or len(subject) > SUBJECT_MAX:
        raise MessageInvalid("subject: one line of at most 300 characters.",
                             fields={"subject": ["One line of at most 300 characters."]})
    if not body.strip():
        raise MessageInvalid("body: an email needs some text.",
                             fields={"body": ["This field is required."]})
    message = EmailMessage()
    message["From"] = Address(addr_spec=sender)
    message["To"] = address
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = f"{references} {in_reply_to}".strip()
    message.set_content(body)
    return message


def message_send(*, channel, to: str, subject: str, body: str,
                 thread_id: str = "") -> tuple[str, str]:
    """Send an email from the channel's mailbox; ``(gmail message id, thread id)``.

    With ``thread_id`` it replies in that thread (In-Reply-To / References from the thread's
    last message, "Re:" on the subject). When the channel's access token is missing or
    expiring, or Gmail rejects it, a new one is fetched and set on ``channel`` (not saved:
    ``agents.services.gmail.mailbox_token_ensure`` stores it). Raises ``MessageInvalid``,
    ``MailboxAuthRevoked``, ``ProviderUnavailable``, ``ProviderRefused``.
    """
    if not access_token_usable(channel):
        channel.access_token, channel.access_token_expires_at = access_token_refresh(channel)
    try:
        return _send(channel, to=to, subject=subject, body=body, thread_id=thread_id)
    except AccessTokenRejected:
        channel.access_token, channel.access_token_expires_at = access_token_refresh(channel)
        try:
            return _send(channel, to=to, subject=subject, body=body, thread_id=thread_id)
        except AccessTokenRejected as exc:
            raise ProviderRefused("Gmail rejected a fresh access token.",
                                  provider_code="UNAUTHENTICATED") from exc


def _send(channel, *, to: str, subject: str, body: str, thread_id: str) -> tuple[str, str]:
    in_reply_to = references = ""
    if thread_id:
        in_reply_to, references, parent_subject = _thread_parent(channel.access_token,
                                                                 thread_id)
        subject = subject or parent_subject
        if subject and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"[:SUBJECT_MAX]
    message = message_build(sender=channel.external_id, to=to, subject=subject, body=body,
                            in_reply_to=in_reply_to, references=references)
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    request = {"raw": raw}
    if thread_id:
        request["threadId"] = thread_id
    data = _api("POST", "messages/send", access_token=channel.access_token, json=request)
    if not data.get("id"):
        raise ProviderUnavailable("Gmail accepted the email but returned no id.")
    logger.info("gmail sent", extra={"channel_id": channel.pk, "gmail_id": data["id"]})
    return str(data["id"]), str(data.get("threadId") or thread_id)
