"""The project's settings with the benchmark URLs (tests/load/bench_urls.py) added, for the
gunicorn the HTTP benchmarks start."""

from flexoraa.settings import *  # noqa: F403

ROOT_URLCONF = "tests.load.bench_urls"
