"""The README's production recipe, followed literally: production settings, collectstatic,
gunicorn; then the pages, hashed static files and probes answer as documented."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.support import needs_postgres, needs_redis

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [needs_postgres, needs_redis]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    # The proxy in front of gunicorn terminates TLS and says so.
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.django_db
def test_the_production_recipe_serves_pages_static_files_and_probes(tmp_path):
    db = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    env.update({
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "RAZORPAY_KEY_ID": "rzp_live_Smoke00000001", "RAZORPAY_KEY_SECRET": secrets.token_hex(16),
        "RAZORPAY_WEBHOOK_SECRET": secrets.token_hex(16),
        "META_APP_SECRET": secrets.token_hex(16), "META_VERIFY_TOKEN": secrets.token_hex(8),
        "GOOGLE_CLIENT_ID": "smoke.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET": secrets.token_hex(16),
        "CHANNEL_TOKEN_KEY": Fernet.generate_key().decode(),
    })
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=ROOT, env=env, check=True, timeout=120)
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "flexoraa.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = fetch(f"{base}/readyz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no gunicorn"
                time.sleep(0.3)
        assert status == 200
        status, page = fetch(f"{base}/login/")
        assert status == 200
        stylesheet = page.split('href="/static/css/')[1].split('"')[0]
        assert stylesheet != "app.css", "production serves hashed file names"
        assert fetch(f"{base}/static/css/{stylesheet}")[0] == 200
        assert fetch(f"{base}/admin/login/")[0] == 200
        assert fetch(f"{base}/api/docs/")[0] == 200
        # Plain HTTP is redirected to HTTPS, except the probes.
        plain = urllib.request.Request(f"{base}/login/")  # noqa: S310
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(plain, timeout=5)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"].startswith("https://")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
