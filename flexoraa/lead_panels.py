"""Panels a higher app puts on LeadOS's lead page, so LeadOS never imports that app: AgentOS
shows the lead's conversation there with its reply box.

An app registers its panels once, from its ``AppConfig.ready()``; the lead page asks for them
and renders each with the context its function returns. A panel's function runs a fixed
number of queries, so the lead page's count stays fixed however many messages, notes or
panels there are.

    from flexoraa import lead_panels

    lead_panels.lead_panel_register(lead_panels.LeadPanel(
        key="conversation", template="agents/_lead_conversation.html",
        context_fn=lead_conversation_context, order=10))

No Django signals: a reader follows the call from ``leads.views.lead.LeadDetailView`` to
here, and from here to the registered functions.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from flexoraa.models import Membership, Organization

# context_fn(org, membership, lead) -> the template's context
PanelContextFn = Callable[[Organization, Membership, Any], dict]


@dataclass(frozen=True)
class LeadPanel:
    """One panel of the lead page. The template gets the lead as ``lead`` beside what
    ``context_fn(org, membership, lead)`` returns."""

    key: str
    template: str
    context_fn: PanelContextFn
    order: int = 100


_panels: dict[str, LeadPanel] = {}


def lead_panel_register(panel: LeadPanel) -> None:
    """Add ``panel``; registering the same key again replaces it (a ``ready()`` run twice
    must not double the page)."""
    _panels[panel.key] = panel


def lead_panel_unregister(key: str) -> None:
    _panels.pop(key, None)


def lead_panels() -> list[LeadPanel]:
    """Every registered panel, in order."""
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.key))


def render_lead_panels(request, lead) -> list[SafeString]:
    """Each panel rendered to HTML for the person viewing ``lead``, in order."""
    organization, membership = request.organization, request.membership
    return [
        render_to_string(
            panel.template,
            {**panel.context_fn(organization, membership, lead), "lead": lead,
             "panel_key": panel.key},
            request=request,
        )
        for panel in lead_panels()
    ]
