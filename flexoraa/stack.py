"""Where the running stack serves: run_stack records its address in ``var/stack.json`` while
it runs, so tools on the same machine (simulate_leads) follow `make run PORT=…` by default."""

import json
import os
from pathlib import Path

from django.conf import settings


def address_file() -> Path:
    return Path(settings.VAR_DIR) / "stack.json"


def record_address(url: str, *, pid: int | None = None) -> None:
    path = address_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"url": url, "pid": pid or os.getpid()}))
    temporary.replace(path)


def forget_address(*, pid: int | None = None) -> None:
    """Remove the record if it is still this process's (a second stack may have replaced it)."""
    path = address_file()
    recorded = _read(path)
    if recorded is not None and recorded.get("pid") == (pid or os.getpid()):
        path.unlink(missing_ok=True)


def running_stack_url() -> str | None:
    """The URL of the stack running on this machine, or None when none is (no record, or the
    process that wrote it is gone: a stack that was killed leaves its file behind)."""
    recorded = _read(address_file())
    if not recorded or not isinstance(recorded.get("pid"), int) or not recorded.get("url"):
        return None
    try:
        os.kill(recorded["pid"], 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, under another user
    return str(recorded["url"])


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
