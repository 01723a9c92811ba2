"""Browser tests: the web app served over real HTTP on loopback, driven in Debian's Chromium through Playwright
(its executable path: nothing is downloaded). Screenshots of the main pages go to a folder printed at the end of the
run: $BEIAN_TEST_ARTIFACTS/screenshots, default ./test-artifacts/screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCREENSHOTS, _on_ci

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str:
    for candidate in (os.environ.get("BEIAN_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    message = "Chromium not found: apt-get install chromium (or set BEIAN_CHROMIUM to its executable)"
    if _on_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is open,
# and Prefect's sync-compatible calls (State.result() …) in later test modules would then return coroutines.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's own sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


def clear_screenshots() -> None:
    if SCREENSHOTS.is_dir():
        shutil.rmtree(SCREENSHOTS)


@pytest.fixture(scope="module")
def modeller_bundle() -> None:
    """The web modeller's bundle is installed (`npm ci --prefix tools/bpmnio` builds it); skips locally, fails on CI."""
    from adapters.entrypoints.web.processes.pages import BUNDLE

    if BUNDLE.is_file():
        return
    missing = f"the web modeller bundle is missing ({BUNDLE}): run `npm ci --prefix tools/bpmnio --no-audit --no-fund`"
    if _on_ci():
        pytest.fail(f"{missing} but CI=true: CI must run the modeller in the browser", pytrace=False)
    pytest.skip(missing)
