"""Production installs no test tools: requirements.lock pins the runtime only (what a
production image installs), requirements-dev.lock adds pyproject's dev extra at the runtime
lock's versions, and `make install` (so `make run` and `make test`) installs the dev lock."""

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.flexoraa.test_sandbox_isolation import shipped_packages

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
# Named outright as well as read from the dev extra: a tool moved out of the extra by mistake
# must not slip into the runtime lock unnoticed.
TEST_TOOLS = {"pytest", "pytest-django", "playwright", "schemathesis", "hypothesis",
              "factory-boy", "faker", "ruff", "openapi-spec-validator"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)")


def pins(lock: str) -> dict[str, str]:
    """``{canonical name: version}`` of a lock file made by ``make lock``."""
    found = {}
    for line in (ROOT / lock).read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(requirement).name) for requirement in requirements}


def test_the_lock_reader_reads_pins_with_extras_and_skips_comments():
    assert PIN.match("celery[redis]==5.7.0").groups() == ("celery", "5.7.0")
    assert PIN.match("    # via pytest") is None
    assert pins(RUNTIME_LOCK) and pins(DEV_LOCK)


def test_the_runtime_lock_holds_no_test_tools():
    runtime = set(pins(RUNTIME_LOCK))
    assert runtime & TEST_TOOLS == set()
    assert runtime & names(project()["optional-dependencies"]["dev"]) == set()


def test_the_runtime_lock_pins_every_runtime_dependency():
    assert names(project()["dependencies"]) <= set(pins(RUNTIME_LOCK))


def test_the_development_lock_is_the_runtime_lock_plus_the_dev_extra_at_the_same_versions():
    runtime, development = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    # Tests run exactly the versions production runs.
    assert {name: development.get(name) for name in runtime} == runtime
    assert names(project()["optional-dependencies"]["dev"]) | TEST_TOOLS <= set(development)


def third_party_imports(package: str) -> dict[str, set[str]]:
    """``{top-level module: {files}}`` of what ``package`` imports from outside the standard
    library and this checkout's packages."""
    ours = {path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()}
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ours:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_everything_the_product_imports_comes_from_the_runtime_lock():
    # A production image has the runtime lock only: an import served by a dev-only
    # distribution (or by none) would fail there and nowhere else.
    runtime = set(pins(RUNTIME_LOCK))
    providers = packages_distributions()
    missing = {}
    for package in shipped_packages():
        for module, files in third_party_imports(package).items():
            if not {canonicalize_name(name) for name in providers.get(module, [])} & runtime:
                missing[module] = sorted(files)
    assert missing == {}


def make_dry_run(folder: Path, target: str) -> str:
    result = subprocess.run(["make", "-n", target, "VENV=venv"], cwd=folder,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    # One line per command: join the recipe's backslash-continued lines.
    return re.sub(r"\\\n\s*", "", result.stdout)


def test_make_install_installs_the_development_lock_and_again_when_it_changes(tmp_path):
    # A copy, so the checkout's own files keep their times.
    for name in ("Makefile", "pyproject.toml", RUNTIME_LOCK, DEV_LOCK):
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "venv").mkdir()
    stamp = tmp_path / "venv" / ".installed"
    stamp.touch()
    hour_ago = stamp.stat().st_mtime - 3600
    for name in ("Makefile", "pyproject.toml", RUNTIME_LOCK, DEV_LOCK):
        os.utime(tmp_path / name, (hour_ago, hour_ago))
    assert "pip install" not in make_dry_run(tmp_path, "install")

    os.utime(tmp_path / DEV_LOCK)  # the development lock changes after the install
    installs = [line for line in make_dry_run(tmp_path, "install").splitlines()
                if "pip install" in line and " -r " in line]
    assert installs and all(line.endswith(f" -r {DEV_LOCK}") for line in installs), installs


def test_make_lock_writes_the_runtime_lock_without_the_dev_extra_and_the_dev_lock_from_it(
    tmp_path,
):
    for name in ("Makefile", "pyproject.toml", RUNTIME_LOCK, DEV_LOCK):
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / ".installed").touch()
    compiles = [line for line in make_dry_run(tmp_path, "lock").splitlines()
                if "uv pip compile" in line]
    assert len(compiles) == 2
    runtime, development = compiles
    assert "--extra" not in runtime and runtime.endswith(f"-o {RUNTIME_LOCK}")
    assert "--extra dev" in development and f"--constraint {RUNTIME_LOCK}" in development
    assert development.endswith(f"-o {DEV_LOCK}")
    # Each lock says how it was made; the commands above are the ones it names.
    for lock, command in ((RUNTIME_LOCK, runtime), (DEV_LOCK, development)):
        header = (ROOT / lock).read_text().splitlines()[1].strip("# ")
        assert header == command.split("bin/", 1)[1], lock
