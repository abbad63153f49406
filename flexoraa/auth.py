from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from flexoraa import selectors, services
from flexoraa.tenancy import ApiKeyPrincipal, attach_api_key_tenant


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <api key>`` for integrations."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header: send 'Authorization: Bearer <api key>'.")
            )
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from exc
        api_key = selectors.api_key_for_raw(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed(_("The API key has been revoked."))
        services.api_key_touch(api_key=api_key)
        attach_api_key_tenant(request._request, api_key)
        return ApiKeyPrincipal(api_key_id=api_key.pk, prefix=api_key.prefix), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
