"""The sandbox's HTTP server: a small threaded server (standard library only) in front of
the Razorpay sandbox. Tests start it in a thread on a free port; ``run_stack`` runs it as a
process:

    RAZORPAY_KEY_ID=… RAZORPAY_KEY_SECRET=… RAZORPAY_WEBHOOK_SECRET=… \\
        python -m flexoraa.sandbox.server --port 8010 \\
        --webhook-url http://127.0.0.1:8000/webhooks/razorpay/
"""

import argparse
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from flexoraa.sandbox.razorpay import RazorpaySandbox, SandboxResponse

CORS_HEADERS = {
    # Checkout's script runs on the shop's page and calls the sandbox from there.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
}
MAX_BODY = 1_048_576


class _Handler(BaseHTTPRequestHandler):
    server_version = "RazorpaySandbox/1"
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
        path = urlsplit(self.path).path
        self._send(self.server.razorpay.handle(self.command, path, headers, body))

    do_GET = do_POST = do_OPTIONS = _answer

    def _send(self, response: SandboxResponse) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in CORS_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"razorpay-sandbox {self.address_string()} {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, razorpay: RazorpaySandbox, quiet: bool):
        self.razorpay = razorpay
        self.quiet = quiet
        super().__init__(address, _Handler)


class SandboxServer:
    """``with SandboxServer(RazorpaySandbox(...)) as server: server.url`` (port 0 = any free
    port)."""

    def __init__(self, razorpay: RazorpaySandbox, *, host: str = "127.0.0.1", port: int = 0,
                 quiet: bool = True):
        self.razorpay = razorpay
        self._httpd = _Server((host, port), razorpay, quiet)
        self._thread: threading.Thread | None = None

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
                                        name="razorpay-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.razorpay.close()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the local Razorpay sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--webhook-url", default=os.environ.get("RAZORPAY_SANDBOX_WEBHOOK_URL"),
                        help="Where to POST the signed webhooks (the app's "
                             "/webhooks/razorpay/).")
    args = parser.parse_args(argv)
    credentials = {}
    for name in ("RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET"):
        credentials[name] = os.environ.get(name, "")
        if not credentials[name]:
            parser.error(f"{name} must be set in the environment (run_stack passes the app's).")
    razorpay = RazorpaySandbox(
        key_id=credentials["RAZORPAY_KEY_ID"], key_secret=credentials["RAZORPAY_KEY_SECRET"],
        webhook_secret=credentials["RAZORPAY_WEBHOOK_SECRET"], webhook_url=args.webhook_url,
    )
    server = SandboxServer(razorpay, host=args.host, port=args.port, quiet=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"Razorpay sandbox at {server.api_url} (Checkout {server.checkout_js_url}); "
          f"webhooks to {args.webhook_url or 'nowhere'}", flush=True)
    stop.wait()
    server.stop()
    print("Razorpay sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
