"""The leads pages in the top bar, the dashboard's quick links and the SLA breach banner."""

from flexoraa import navigation
from flexoraa.navigation import MANAGERS, SDRS, Banner, Link

for slot, order in (("main", 20), ("dashboard", 20)):
    navigation.register_link(Link(slot=slot, label="My leads", url_name="leads:my-leads",
                                  order=order))
    navigation.register_link(Link(slot=slot, label="Team queue", url_name="leads:team",
                                  order=order + 1, roles=MANAGERS))
navigation.register_link(Link(slot="main", label="SLA report", url_name="leads:sla", order=22))
# Managers and SDRs alike: the leads nobody holds, to take by hand.
navigation.register_link(Link(slot="main", label="Unassigned queue", url_name="leads:queue",
                              order=21))
# On the dashboard the report says whose figures it holds.
navigation.register_link(Link(slot="dashboard", label="Team SLA report", url_name="leads:sla",
                              order=22, roles=MANAGERS))
navigation.register_link(Link(slot="dashboard", label="My SLA report", url_name="leads:sla",
                              order=22, roles=SDRS))

navigation.register_banner(Banner(
    element_id="queue-banner", url_name="leads:queue-banner", order=11,
    fallback_label="See the leads waiting in the unassigned queue",
    fallback_url_name="leads:queue",
))
navigation.register_banner(Banner(
    element_id="breach-banner", url_name="leads:breach-banner", order=10,
    fallback_label="See the unacknowledged SLA breaches in the team queue",
    fallback_url_name="leads:team", fallback_anchor="#breaches",
))
