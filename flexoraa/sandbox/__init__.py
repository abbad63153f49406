"""Local fakes of the providers, speaking their documented HTTP contracts.

Tests and ``make run`` point the real adapters (billing/providers/razorpay.py …) at these
servers through settings, so nothing in our code fakes itself: the adapter sends the same
HTTP it sends to the provider. Standard library only, so the sandbox runs anywhere:

    python -m flexoraa.sandbox.server --port 8010 --webhook-url http://127.0.0.1:8000/webhooks/razorpay/

``run_stack`` starts it when RAZORPAY_BASE_URL points at 127.0.0.1 or localhost.
"""
