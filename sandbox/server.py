"""The sandbox's HTTP server: a small threaded server (standard library only) in front of
the provider sandboxes, one per path prefix: ``/graph/`` is Meta's Graph API, ``/google/``
Gmail and Google's OAuth, everything else Razorpay. Tests start it in a thread on a free port;
``manage.py provider_sandbox`` (which ``run_stack`` starts) runs it as a process.
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from sandbox.razorpay import RazorpaySandbox, SandboxResponse

CORS_HEADERS = {
    # Checkout's script runs on the shop's page and calls the sandbox from there.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
}
MAX_BODY = 1_048_576


class _Handler(BaseHTTPRequestHandler):
    server_version = "ProviderSandbox/1"
    server: "_Server"

    def _answer(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(SandboxResponse.json({"error": {"code": "BAD_REQUEST_ERROR",
                                                       "description": "Bad Content-Length."}},
                                            status=400))
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        parts = urlsplit(self.path)
        provider = self.server.provider_for(parts.path)
        if provider is None:
            self._send(SandboxResponse.json(
                {"error": {"message": f"No sandbox serves {parts.path}."}}, status=404))
            return
        # Providers that read a query string (Gmail's pageToken) get it on the path.
        path = f"{parts.path}?{parts.query}" if parts.query and provider is not (
            self.server.razorpay) else parts.path
        self._send(provider.handle(self.command, path, headers, body))

    do_GET = do_POST = do_OPTIONS = _answer

    def _send(self, response: SandboxResponse) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in CORS_HEADERS.items():
            self.send_header(name, value)
        # A provider's redirect (Google's consent screen) carries its Location this way.
        for name, value in getattr(response, "headers", {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"provider-sandbox {self.address_string()} {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A test that gives up on a slow answer closes its socket: not worth a traceback.
        if self.quiet and isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def __init__(self, address, providers: dict, quiet: bool):
        self.razorpay = providers.get("razorpay")
        self.meta = providers.get("meta")
        self.google = providers.get("google")
        self.quiet = quiet
        super().__init__(address, _Handler)

    def provider_for(self, path: str):
        if path.startswith("/graph/"):
            return self.meta
        if path.startswith("/google/"):
            return self.google
        return self.razorpay


class SandboxServer:
    """``with SandboxServer(RazorpaySandbox(...), meta=…, google=…) as server: server.url``
    (port 0 = any free port). Each provider sandbox answers ``handle(method, path, headers,
    body) -> SandboxResponse``; one left out answers 404."""

    def __init__(self, razorpay: RazorpaySandbox | None = None, *, meta=None, google=None,
                 host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
        self.razorpay = razorpay
        self.meta = meta
        self.google = google
        self._httpd = _Server((host, port), {"razorpay": razorpay, "meta": meta,
                                             "google": google}, quiet)
        self._thread: threading.Thread | None = None

    @property
    def graph_url(self) -> str:
        """What META_GRAPH_URL points at."""
        return f"{self.url}/graph/v21.0"

    @property
    def google_url(self) -> str:
        """What GMAIL_API_URL points at; the OAuth token endpoint is ``{google_url}/token``."""
        return f"{self.url}/google"

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What RAZORPAY_BASE_URL points at."""
        return f"{self.url}/v1"

    @property
    def checkout_js_url(self) -> str:
        return f"{self.url}/v1/checkout.js"

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="provider-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for provider in (self.razorpay, self.meta, self.google):
            if provider is not None and hasattr(provider, "close"):
                provider.close()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox.server [--port 8010] [--webhook-base URL]``: the same as
    ``manage.py provider_sandbox``, which reads the app's secrets from its settings."""
    import os

    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flexoraa.settings")
    execute_from_command_line(["manage.py", "provider_sandbox",
                               *(sys.argv[1:] if argv is None else argv)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
