"""Sign-in locks in the manager console: who is locked out, and the unlock."""

from datetime import UTC

from django.contrib import admin, messages
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.admin import ReadOnlyAdminMixin, is_tenant_manager
from flexoraa.lockout import rules, selectors, services
from flexoraa.lockout.models import SignInThrottle


@admin.register(SignInThrottle)
class SignInThrottleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who may see and lift which lock, and why:

    * A manager or owner of a tenant sees the account counters of that tenant's own members
      and unlocks them, one audit event each in the tenant's log. Never a client address: an
      address is personal data and is shared by people of other tenants behind the same
      network. Never a person outside the tenant. Someone in two tenants can be unlocked by
      a manager of either: the lock guards their one login, and lifting it gives nobody the
      password.
    * A platform superuser sees every counter, addresses for sign-in and for API keys
      included, and lifts any of them.

    Nothing here adds or edits a counter; a lock also lapses on its own
    (SIGN_IN_LOCKOUT_MINUTES after the last attempt it counted).
    """

    list_display = ["who", "scope", "attempts", "locked_until"]
    list_display_links = None
    actions = ["unlock_sign_in"]
    ordering = ["-last_attempt_at"]

    def get_queryset(self, request):
        if request.user.is_superuser:
            return selectors.throttles_current()
        if is_tenant_manager(request):
            return selectors.throttles_current_for_members(request.organization)
        return SignInThrottle.objects.none()

    def get_list_filter(self, request):
        return ["scope"] if request.user.is_superuser else []

    def has_module_permission(self, request):
        return request.user.is_superuser or is_tenant_manager(request)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


    @admin.display(description="username or address")
    def who(self, obj):
        return obj.key

    @admin.display(description="locked until")
    def locked_until(self, obj):
        limits = selectors.limits()
        lock = rules.lock_of(obj.scope, obj.attempts, obj.last_attempt_at, now=timezone.now(),
                             limits=limits)
        if lock is None:
            return f"not locked ({obj.attempts} of {limits.for_scope(obj.scope)} attempts)"
        return f"{lock.until.astimezone(UTC):%H:%M} UTC"

    @admin.action(description="Unlock sign-in")
    def unlock_sign_in(self, request, queryset):
        # The queryset is this page's own, so a manager only ever reaches their members.
        throttles = list(queryset)
        if request.user.is_superuser:
            services.sign_in_locks_lift(
                throttle_ids=[throttle.pk for throttle in throttles],
                actor=Actor.for_user(request.user),
            )
            unlocked = [throttle.key for throttle in throttles]
        else:
            org, actor = request.organization, Actor.for_member(request.membership)
            unlocked = []
            for throttle in throttles:
                membership = selectors.membership_for_account_key(org, throttle.key)
                if membership is not None:
                    services.member_sign_in_unlock(org=org, membership=membership, actor=actor)
                    unlocked.append(throttle.key)
        messages.success(
            request, f"Unlocked: {', '.join(unlocked)}. They can sign in again now."
            if unlocked else "Nothing to unlock."
        )
