"""Browser fixtures: Debian's chromium driven by Playwright (nothing downloads a browser), and
screenshots of each step under var/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "slacksim" / "static"
SCREENSHOTS = ROOT / "var" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str:
    """The chromium to drive: `$CHROMIUM`, else Debian's; fails (never skips) when missing."""
    path = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        pytest.fail(f"no chromium at {path}: apt-get install chromium (or set CHROMIUM)",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless chromium for the session."""
    browser = playwright.chromium.launch(executable_path=chromium_path(),
                                         args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (its own context: no cookies or storage shared) at 1280x800; fails the
    test on any uncaught script error."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"


class Shots:
    """Screenshots of one test's steps: var/screenshots/<test>-<step>.png."""

    def __init__(self, test: str) -> None:
        self.test = re.sub(r"[^A-Za-z0-9_.-]+", "-", test)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def path(self, step: str) -> Path:
        """Where the screenshot of `step` goes."""
        return SCREENSHOTS / f"{self.test}-{step}.png"

    def take(self, page: Page, step: str, full_page: bool = False) -> Path:
        """Screenshot the page now."""
        path = self.path(step)
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    """Screenshots named after the running test."""
    return Shots(request.node.name)
