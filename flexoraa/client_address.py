"""The address of the client that sent a request, as the one place that decides it.

``X-Forwarded-For`` is whatever the client writes unless a proxy we run appends to it, so it
is read only as far as ``TRUSTED_PROXY_COUNT`` allows. Each trusted proxy appends the address
it received the connection from, so with N proxies in front of Django the client is the
N-th address counted from the right of ``X-Forwarded-For`` + ``REMOTE_ADDR``; anything further
left was written by the client and is ignored. With no proxy (the default, 0) it is
``REMOTE_ADDR``.
"""

import ipaddress

from django.conf import settings


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address_from(meta: dict, trusted_proxy_count: int) -> str | None:
    """The client's address from a request's META (pure: no settings read)."""
    remote = meta.get("REMOTE_ADDR") or ""
    if trusted_proxy_count <= 0:
        return _valid_address(remote)
    forwarded = [part for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    hops = [*forwarded, remote]
    # A request that came through fewer proxies than configured (a health check from inside
    # the network) has no address a proxy vouched for beyond its leftmost one.
    index = max(len(hops) - 1 - trusted_proxy_count, 0)
    return _valid_address(hops[index]) or _valid_address(remote)


def client_address(request) -> str | None:
    """The request's client address (used by sign-in lockout through AXES_CLIENT_IP_CALLABLE
    and by the API key failure count)."""
    return client_address_from(request.META, settings.TRUSTED_PROXY_COUNT)
