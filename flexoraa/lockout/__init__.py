"""Sign-in lockout: the app's login page, the manager console's login and API keys are
throttled and locked after repeated failures per account and per client address.

django-axes records failures, shows the locked-out page and resolves the client address
(``flexoraa.client_address``); the counters here (``SignInThrottle``) decide, charged before
each password check so that concurrent attempts cannot run past the limit
(``services``' docstring says why axes' own count could not promise that).
"""
