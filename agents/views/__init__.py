"""The SDR inbox: the conversation list, a thread and its actions (reply, assign, verdict,
read). Reads go through ``agents.selectors``, writes through ``agents.services``."""

from agents.views.lists import InboxView
from agents.views.thread import (
    AssignView,
    DoneView,
    MarkReadView,
    ReplyView,
    TakeView,
    TemplateFieldsView,
    ThreadMessagesView,
    ThreadView,
    VerdictView,
)

__all__ = [
    "AssignView",
    "DoneView",
    "InboxView",
    "MarkReadView",
    "ReplyView",
    "TakeView",
    "TemplateFieldsView",
    "ThreadMessagesView",
    "ThreadView",
    "VerdictView",
]
