"""Browser tests of the planner page: a real ``capcast serve`` (``benchmarks.service_process``) on the
session's trained model, and Debian's Chromium driven by Playwright (its own download is not reachable)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import yaml

from benchmarks.chromium import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from benchmarks.service_process import running_service

PLANNER_TOKEN = "page-planner-secret"
TOKEN_KEY = "capcast.plannerToken"  # where the page keeps the token (sessionStorage)
WAIT_MS = 30_000  # the longest any step waits: a 2 s plan job, or a service answering


class Service:
    """``capcast serve`` on ``home``'s model with its own plan database (and site, when given), a
    planner token and 2 s plan jobs; restartable on the same database."""

    def __init__(self, home: Path, database: Path, site: Path | None = None):
        settings = {
            "CAPCAST_PLANNER_TOKEN": PLANNER_TOKEN,
            "CAPCAST_PLAN_TIME_LIMIT_S": "2",
            "CAPCAST_DATABASE_URL": f"sqlite:///{database}",
            # One worker: the page needs no more, and two services of two on a 2-core machine slow every step.
            "CAPCAST_WORKERS": "1",
        }
        if site is not None:
            settings["CAPCAST_SITE"] = str(site)
        self.home = home
        self.settings = settings
        self.url = ""
        self._stack: ExitStack | None = None

    def start(self) -> Service:
        self._stack = ExitStack()
        self.url = self._stack.enter_context(running_service(self.home, env=self.settings))
        return self

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def get(self, path: str, **params) -> dict | list:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; a missing browser fails the browser tests in one line, never skips them."""
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: install the Debian package chromium (apt-get install chromium)"
        pytest.fail(missing, pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own sessionStorage: no planner token kept) with one page; any
    uncaught script error of the page fails the test."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture(scope="module")
def service(trained_home, tmp_path_factory) -> Iterator[Service]:
    """The service of the sample site on the session's trained model, with a database of its own."""
    database = tmp_path_factory.mktemp("page-db") / "capcast.db"
    started = Service(trained_home, database).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def tight_service(trained_home, tmp_path_factory) -> Iterator[Service]:
    """A service whose site cannot make the forecast demand: each line runs one shift a day at most,
    at half its speed."""
    folder = tmp_path_factory.mktemp("tight-site")
    site = yaml.safe_load((trained_home / "sample" / "site.yaml").read_text(encoding="utf-8"))
    site["name"] = "tight-site"
    for line in site["lines"]:
        line["max_shifts_per_day"] = 1
        for level in line["speed_levels"]:
            level["units_per_hour"] = max(1, level["units_per_hour"] // 2)
    (folder / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    started = Service(trained_home, folder / "capcast.db", site=folder / "site.yaml").start()
    yield started
    started.stop()
