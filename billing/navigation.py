"""Billing in the managers' top bar, and the low token balance banner on their dashboard."""

from flexoraa import navigation
from flexoraa.navigation import MANAGERS, Banner, Link

navigation.register_link(Link(slot="main", label="Billing", url_name="billing:wallet",
                              order=800, roles=MANAGERS, section=("billing:",)))

navigation.register_banner(Banner(
    element_id="low-balance-banner", url_name="billing:low-balance-banner", order=20,
    fallback_label="Check the token balance", fallback_url_name="billing:wallet",
))
