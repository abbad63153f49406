"""Errors this app raises; the API turns each into the one JSON error shape."""

from flexoraa.errors import Conflict, FlexoraaError, ValidationFailed


class WindowClosed(Conflict):
    """Free text outside the customer-service window (409): only an approved template may go,
    or, on Messenger / Instagram, a human reply within 7 days."""

    code = "window_closed"


class LeadOptedOut(Conflict):
    """The lead opted out: no marketing or AI message may go to it (409)."""

    code = "lead_opted_out"


class MessageInvalid(ValidationFailed):
    """A message the channel cannot carry: too long, empty, wrong template parameters (400)."""

    code = "message_invalid"


class ChannelDisconnected(Conflict):
    """The channel's credentials no longer work; a manager must reconnect it (409)."""

    code = "channel_disconnected"


class ProviderUnavailable(FlexoraaError):
    """The provider timed out or answered 5xx; the send is retried with backoff (502)."""

    status_code = 502
    code = "provider_unavailable"


class ProviderRefused(FlexoraaError):
    """The provider refused the request for good (4xx other than the window); not retried."""

    status_code = 502
    code = "provider_refused"

    def __init__(self, message: str, *, provider_code: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.provider_code = provider_code


class MailboxAuthRevoked(ChannelDisconnected):
    """Google answered ``invalid_grant`` to the mailbox's refresh token (revoked, expired or
    the password changed): the mailbox is disconnected until a manager reconnects it (409)."""

    code = "mailbox_auth_revoked"
