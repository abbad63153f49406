from flexoraa.tenancy import role_is_managing


def tenancy(request):
    membership = getattr(request, "membership", None)
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": membership,
        "is_manager": membership is not None and role_is_managing(membership.role),
    }
