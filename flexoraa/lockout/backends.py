"""The one authentication backend: Django's password check, behind sign-in lockout."""

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from flexoraa.lockout import services


class LockoutModelBackend(AxesStandaloneBackend, ModelBackend):
    """Checks a password only once the attempt has its place in the account's and the client
    address's counts (``services.sign_in_attempt_claim``), and refuses it without a check
    when either is locked.

    It must be the only password backend in ``AUTHENTICATION_BACKENDS``: Django tries every
    backend in turn, so a plain ``ModelBackend`` after it would check the password of an
    attempt this one refused. The app's login page and the manager console's both come
    here (Django's ``AuthenticationForm`` passes the request). A call without a request (a
    script, the test client's ``login``) is counted against the account alone: there is no
    client address to count.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if not settings.AXES_ENABLED:
            return ModelBackend.authenticate(self, request, username, password, **kwargs)
        address = None
        if request is not None:
            AxesProxyHandler.update_request(request)
            address = request.axes_ip_address
        claim = services.sign_in_attempt_claim(username=username, address=address)
        if not claim.granted:
            if request is not None:
                # axes' middleware turns the flag into the locked-out page; its handler does
                # not record a refused attempt (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
                # is off), so refusals never push a lock further out.
                request.axes_locked_out = True
                request.axes_credentials = get_credentials(username)
                request.sign_in_lock = claim.lock
            raise AxesBackendPermissionDenied("Sign-in is locked for this account or address.")
        user = ModelBackend.authenticate(self, request, username, password, **kwargs)
        if user is not None:
            services.sign_in_attempt_release(claim=claim)
        return user
