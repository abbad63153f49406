"""The inbox in the top bar; its threads count as inside it."""

from flexoraa import navigation
from flexoraa.navigation import Link

navigation.register_link(Link(slot="main", label="Inbox", url_name="inbox-list", order=10,
                              section=("inbox-",)))
