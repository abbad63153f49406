from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from flexoraa import selectors, services
from flexoraa.client_address import client_address
from flexoraa.lockout import rules as lockout_rules
from flexoraa.lockout import selectors as lockout_selectors
from flexoraa.lockout import services as lockout_services
from flexoraa.tenancy import ApiKeyPrincipal, attach_api_key_tenant


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <api key>`` for integrations.

    A key that is not valid counts against the client address; at
    API_KEY_ADDRESS_FAILURE_LIMIT the address gets 429 for every bearer request, a valid key's
    included (checking it would let the guessing go on), until SIGN_IN_LOCKOUT_MINUTES after
    its last failure or until a superuser lifts it in the console's Sign-in locks.
    """

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header: send 'Authorization: Bearer <api key>'.")
            )
        address = client_address(request)
        lock = lockout_selectors.api_key_address_lock(address)
        if lock is not None:
            now = timezone.now()
            raise exceptions.Throttled(
                wait=lock.seconds_left(now),
                detail=_(
                    "Too many API keys that are not valid came from your address, so API keys "
                    "from it are refused for %(wait)s. Check the key your integration sends "
                    "(the manager console lists your organization's keys)."
                ) % {"wait": lockout_rules.duration_text(lock.until - now)},
            )
        try:
            raw_key = header[1].decode("ascii")
            api_key = selectors.api_key_for_raw(raw_key)
        except UnicodeDecodeError:
            api_key = None
        if api_key is None:
            lockout_services.api_key_failure_record(address=address)
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed(_("The API key has been revoked."))
        services.api_key_touch(api_key=api_key)
        attach_api_key_tenant(request._request, api_key)
        return ApiKeyPrincipal(api_key_id=api_key.pk, prefix=api_key.prefix), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
