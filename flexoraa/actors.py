"""Who acts: one typed value built once per request (or by a job, command or webhook) and
passed to every service, so the audit log always knows whether a person, an integration's
API key or the platform itself made a change.

An ``Actor`` holds ids and a code, never a name or an address: it goes into the audit log,
which must stay free of personal data.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models import nothing from here; the value stays free of the ORM
    from flexoraa.models import ApiKey, Membership

SYSTEM_NAME_MAX_LENGTH = 64
# Codes such as "webhook:razorpay" or "job:leads.sla_check": lower-case words joined by
# ":", ".", "_" or "-". Free text could carry personal data into the audit log.
_SYSTEM_NAME = re.compile(r"^[a-z0-9]+(?:[:._-][a-z0-9]+)*$")


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """A person (with their membership of the tenant they act in), an API key, or the
    system under a name. Build one through ``for_member``, ``for_user``, ``for_api_key`` or
    ``system``; two actors are equal when they name the same principal."""

    kind: ActorKind
    user_id: int | None = None
    membership_id: int | None = None
    organization_id: int | None = None
    api_key_id: int | None = None
    system_name: str = ""
    # The loaded rows, so services that need the membership's role or the key's tenant do
    # not query again; equality and hashing go by the ids above.
    membership: "Membership | None" = field(default=None, compare=False, repr=False)
    api_key: "ApiKey | None" = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.kind is ActorKind.USER:
            valid = self.user_id is not None and self.api_key_id is None and not self.system_name
        elif self.kind is ActorKind.API_KEY:
            valid = (self.api_key_id is not None and self.user_id is None
                     and self.membership_id is None and not self.system_name)
        elif self.kind is ActorKind.SYSTEM:
            valid = (self.user_id is None and self.api_key_id is None
                     and self.membership_id is None and bool(self.system_name))
        else:
            valid = False
        if not valid:
            raise ValueError(f"Inconsistent actor: {self!r}")

    @classmethod
    def for_member(cls, membership: "Membership") -> "Actor":
        """A signed-in person acting in the organization of ``membership``."""
        if membership is None or membership.pk is None:
            raise ValueError("A member actor needs a saved membership.")
        return cls(
            kind=ActorKind.USER, user_id=membership.user_id, membership_id=membership.pk,
            organization_id=membership.organization_id, membership=membership,
        )

    @classmethod
    def for_user(cls, user, membership: "Membership | None" = None) -> "Actor":
        """A signed-in person, with their membership when they have one in the tenant they
        act on (a superuser in the console may have none)."""
        if membership is not None:
            if membership.user_id != user.pk:
                raise ValueError("The membership belongs to someone else.")
            return cls.for_member(membership)
        if not getattr(user, "is_authenticated", False) or not isinstance(user.pk, int):
            raise ValueError("A user actor needs a signed-in person.")
        return cls(kind=ActorKind.USER, user_id=user.pk)

    @classmethod
    def for_api_key(cls, api_key: "ApiKey") -> "Actor":
        """An integration calling with ``api_key``; it acts for the key's organization."""
        if api_key is None or api_key.pk is None:
            raise ValueError("An API key actor needs a saved key.")
        return cls(
            kind=ActorKind.API_KEY, api_key_id=api_key.pk,
            organization_id=api_key.organization_id, api_key=api_key,
        )

    @classmethod
    def system(cls, name: str) -> "Actor":
        """The platform itself: a webhook (``"webhook:razorpay"``), a job
        (``"job:leads.sla_check"``), a command or the console's maintenance actions."""
        if (not isinstance(name, str) or len(name) > SYSTEM_NAME_MAX_LENGTH
                or not _SYSTEM_NAME.match(name)):
            raise ValueError(
                f"A system actor's name is a code such as 'job:leads.sla_check' "
                f"(lower-case, at most {SYSTEM_NAME_MAX_LENGTH} characters), not {name!r}."
            )
        return cls(kind=ActorKind.SYSTEM, system_name=name)

    @property
    def is_user(self) -> bool:
        return self.kind is ActorKind.USER

    @property
    def is_api_key(self) -> bool:
        return self.kind is ActorKind.API_KEY

    @property
    def is_system(self) -> bool:
        return self.kind is ActorKind.SYSTEM

    @property
    def label(self) -> str:
        """A short id-only description for logs and the console: ``user:12``,
        ``api_key:3`` or ``system:webhook:razorpay``."""
        if self.kind is ActorKind.USER:
            return f"user:{self.user_id}"
        if self.kind is ActorKind.API_KEY:
            return f"api_key:{self.api_key_id}"
        return f"system:{self.system_name}"

    def __str__(self) -> str:
        return self.label
