"""django-axes' handler, deciding locks from ``SignInThrottle`` counters.

axes still records each failed password check (``AccessAttempt``, with path and user agent),
shows the locked-out page through its middleware, and lifts locks with its ``axes_reset*``
commands; what counts towards a lock, and when it holds, is decided by the counters that
``LockoutModelBackend`` charges before the password check (``flexoraa.lockout.services``).
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.signals import user_locked_out
from django.db.models import Q

from flexoraa.lockout import rules, selectors
from flexoraa.lockout.models import Scope, SignInThrottle


class SignInLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        # What axes reports as the failures "since start": the account's current count.
        return selectors.account_attempts(get_client_username(request, credentials))

    def is_locked(self, request, credentials=None) -> bool:
        return self.lock(request, credentials) is not None

    @staticmethod
    def lock(request, credentials=None) -> rules.Lock | None:
        return selectors.sign_in_lock(
            username=get_client_username(request, credentials),
            address=getattr(request, "axes_ip_address", None),
        )

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        # axes locks on the account's count alone; the address has a limit of its own.
        if not request.axes_locked_out and self.is_locked(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send("axes", request=request,
                                 username=get_client_username(request, credentials),
                                 ip_address=request.axes_ip_address)

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        """``manage.py axes_reset``, ``axes_reset_username`` and ``axes_reset_ip`` lift the
        counters' locks too, not only axes' records."""
        count = super().reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )
        # An operator naming an account and an address means to let that person in: both
        # counters go, whether axes was asked for the pair or for either.
        counters = Q(pk__in=[])
        if username:
            counters |= Q(scope=Scope.ACCOUNT, key=rules.account_key(username))
        if ip_address:
            counters |= Q(scope__in=[Scope.ADDRESS, Scope.API_KEY_ADDRESS], key=ip_address)
        if not (username or ip_address):
            counters = Q()
        SignInThrottle.objects.filter(counters).delete()
        return count
