"""Run the local provider sandbox: Razorpay, Meta's Graph API (WhatsApp, Messenger,
Instagram) and Gmail with Google's OAuth, holding this app's secrets and posting signed
webhooks back to it. ``run_stack`` starts it beside web, worker and beat."""

import signal
import threading

from django.core.management.base import BaseCommand

from sandbox.providers import sandbox_server_build


class Command(BaseCommand):
    help = "Run the local provider sandbox until SIGTERM or Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8010)
        parser.add_argument("--webhook-base", default="http://127.0.0.1:8000",
                            help="The app's base URL; webhooks go to its /webhooks/… "
                                 "endpoints. Give an empty string to keep them.")
        parser.add_argument("--quiet", action="store_true", help="Do not log each request.")

    def handle(self, *args, host, port, webhook_base, quiet, **options):
        server = sandbox_server_build(webhook_base=webhook_base or None, host=host, port=port,
                                      quiet=quiet)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        server.start()
        self.stdout.write(f"Provider sandbox at {server.url}")
        self.stdout.write(f"  Razorpay   {server.api_url} (Checkout {server.checkout_js_url})")
        self.stdout.write(f"  Graph      {server.graph_url}")
        if server.google is not None:
            self.stdout.write(f"  Google     {server.google_url} "
                              f"(token {server.google_url}/token)")
        self.stdout.write(f"  webhooks to {webhook_base or 'nowhere (kept)'}")
        self.stdout.flush()
        stop.wait()
        server.stop()
        self.stdout.write("Provider sandbox stopped.")
