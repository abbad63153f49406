"""Render the navigation the apps register (``flexoraa.navigation``) for the member viewing
the page, so the core's templates never name an app's URL.

    {% load navigation %}
    {% navigation_links "main" as links %}
    {% dashboard_banners as banners %}
"""

from django import template

from flexoraa import navigation

register = template.Library()


def _role(context) -> str | None:
    # Pages are for members; a signed-in person without a membership sees no app links.
    membership = getattr(context.get("request"), "membership", None)
    return None if membership is None else membership.role


@register.simple_tag(takes_context=True)
def navigation_links(context, slot: str) -> list[navigation.ResolvedLink]:
    match = getattr(context.get("request"), "resolver_match", None)
    return navigation.links_for(slot, role=_role(context),
                                view_name=match.view_name if match else "")


@register.simple_tag(takes_context=True)
def dashboard_banners(context) -> list[navigation.ResolvedBanner]:
    return navigation.banners_for(role=_role(context))
