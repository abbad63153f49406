"""Experiments in the managers' top bar."""

from flexoraa import navigation
from flexoraa.navigation import MANAGERS, Link

navigation.register_link(Link(slot="main", label="Experiments", url_name="experiments:list",
                              order=700, roles=MANAGERS, section=("experiments:",)))
