"""The provider sandbox is a development tool: production settings do not install it, nothing
the product ships imports it, and the wheel does not carry it."""

import ast
import fnmatch
import json
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import get_commands

from flexoraa.management.commands.run_stack import provider_sandbox_process
from tests.flexoraa.test_settings_and_celery import PRODUCTION, run_manage

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "sandbox"


def shipped_package_patterns() -> list[str]:
    """pyproject's ``[tool.setuptools.packages.find] include``: what a production wheel holds."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["tool"]["setuptools"]["packages"]["find"]["include"]


def shipped_packages() -> list[str]:
    """The top-level packages of this checkout that the wheel takes."""
    return sorted(
        path.name for path in ROOT.iterdir()
        if (path / "__init__.py").is_file()
        and any(fnmatch.fnmatchcase(path.name, pattern) for pattern in shipped_package_patterns())
    )


def sandbox_imports(source: str, filename: str = "<source>") -> list[str]:
    """Each import of the top-level ``sandbox`` package in ``source``, as ``line: module``:
    ``import sandbox…``, ``from sandbox… import …`` (at any depth, in functions too) and
    ``importlib.import_module("sandbox…")`` / ``__import__("sandbox…")`` with a literal name."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) == "import_module"
                   or getattr(node.func, "id", None) in {"import_module", "__import__"})):
            modules = [node.args[0].value]
        else:
            continue
        found += [(node.lineno, module) for module in modules
                  if module.split(".")[0] == SANDBOX]
    # ast.walk goes breadth first; report in the order of the source.
    return [f"{line}: {module}" for line, module in sorted(found)]


def test_the_import_finder_sees_every_way_of_importing_the_sandbox():
    source = "\n".join([
        "import sandbox",
        "import os, sandbox.meta as meta",
        "from sandbox import providers",
        "from sandbox.razorpay import SignedEvent",
        "def later():",
        "    from sandbox.server import SandboxServer",
        "importlib.import_module('sandbox.google')",
        "import_module('sandbox')",
        "__import__('sandbox.outbox')",
    ])
    assert sandbox_imports(source) == [
        "1: sandbox", "2: sandbox.meta", "3: sandbox", "4: sandbox.razorpay",
        "6: sandbox.server", "7: sandbox.google", "8: sandbox", "9: sandbox.outbox",
    ]


def test_the_import_finder_ignores_names_that_only_look_like_the_sandbox():
    source = "\n".join([
        "import sandboxed",
        "from flexoraa.sandbox_settings import URL",
        "from .sandbox import local_module",
        "PROVIDER = 'sandbox'",
        "INSTALLED_APPS.append('sandbox')",
        "import_module(name)",
    ])
    assert sandbox_imports(source) == []


def test_every_app_the_product_installs_is_a_package_the_wheel_ships():
    # Otherwise an app outside the include list would escape the import walk below.
    project_apps = {app for app in settings.INSTALLED_APPS if (ROOT / app).is_dir()}
    assert project_apps - {SANDBOX} <= set(shipped_packages())
    assert {"flexoraa", "leads", "agents", "billing"} <= set(shipped_packages())


def test_the_wheel_does_not_carry_the_sandbox():
    assert SANDBOX not in shipped_packages()
    for module in (SANDBOX, f"{SANDBOX}.meta", f"{SANDBOX}.management.commands"):
        assert not any(fnmatch.fnmatchcase(module, pattern)
                       for pattern in shipped_package_patterns()), module


def test_nothing_the_product_ships_imports_the_sandbox():
    offenders = []
    for package in shipped_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            offenders += [f"{relative}:{hit}" for hit in sandbox_imports(path.read_text(),
                                                                         str(relative))]
    assert offenders == []


def test_development_settings_install_the_sandbox_and_its_command():
    assert apps.is_installed(SANDBOX)
    assert get_commands()["provider_sandbox"] == SANDBOX


# Loads what a production process loads: every URL's views and every app's Celery tasks.
PRODUCTION_PROCESS_REPORT = """
import json, sys
from django.apps import apps
from django.core.management import get_commands
from django.urls import get_resolver
from flexoraa.celery import app
get_resolver().url_patterns
app.loader.import_default_modules()
print(json.dumps({
    "installed": apps.is_installed("sandbox"),
    "command": get_commands().get("provider_sandbox"),
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] == "sandbox"),
}))
"""


def test_production_settings_neither_install_nor_load_the_sandbox():
    result = run_manage("shell", "--no-imports", "-c", PRODUCTION_PROCESS_REPORT, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"installed": False, "command": None, "loaded": []}


def test_production_has_no_provider_sandbox_command():
    result = run_manage("provider_sandbox", "--help", **PRODUCTION)
    assert result.returncode != 0
    assert "Unknown command: 'provider_sandbox'" in result.stderr


def test_run_stack_starts_no_sandbox_where_the_sandbox_app_is_not_installed(settings):
    settings.PROVIDER_SANDBOX_URL = "http://127.0.0.1:8123"
    assert provider_sandbox_process("127.0.0.1", 8000) is not None
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != SANDBOX]
    assert provider_sandbox_process("127.0.0.1", 8000) is None
