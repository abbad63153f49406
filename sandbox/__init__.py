"""Local fakes of the providers, speaking their documented HTTP contracts.

Tests and ``make run`` point the real adapters (billing/providers/razorpay.py …) at these
servers through settings, so nothing in our code fakes itself: the adapter sends the same
HTTP it sends to the provider. Beyond Django's settings, the fakes use the standard library
and the app's own pure format modules (``agents.meta_payloads`` builds and signs Meta's
webhooks for both sides), so the sandbox runs anywhere:

    python manage.py provider_sandbox --port 8010

One server answers for Meta's Graph API (/graph/), Gmail and Google's OAuth (/google/) and
Razorpay (/v1/), and posts signed webhooks back to the app. ``run_stack`` starts it when
PROVIDER_SANDBOX_URL points at 127.0.0.1 or localhost.

A development tool, not part of the product: settings install this app only outside
production, the imports go one way (the sandbox may import the app, nothing in the app
imports the sandbox; tests/flexoraa/test_sandbox_isolation.py holds both), and the wheel
built from pyproject.toml does not carry it.
"""
