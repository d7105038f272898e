"""Fixtures for the browser test: one JupyterLab and one headless Chromium for the session.

These tests run only with ``SCALEKIT_BROWSER_TEST=1`` (``make browser-test``), so that
``make test`` stays fast. Chromium is Debian's (``/usr/bin/chromium``, or ``$CHROMIUM``),
launched by its path: no browser is ever downloaded. A failing test leaves a screenshot
in ``build/browser/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest

from scalekit import course

collect_ignore_glob = [] if os.environ.get("SCALEKIT_BROWSER_TEST") == "1" else ["test_*.py"]

SCREENSHOTS = course.ROOT / "build" / "browser"


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    from labserver import start_lab

    server = start_lab(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from labserver import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request):
    """A fresh browser page; on failure its last view is saved under build/browser/."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def fresh_kernels(lab):
    """Shut down every kernel after the test, so notebooks do not pile up kernels."""
    yield
    headers = {"Authorization": f"token {lab.token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{lab.url}/api/sessions", headers=headers)) as reply:
        sessions = json.load(reply)
    for session in sessions:
        request = urllib.request.Request(
            f"{lab.url}/api/sessions/{session['id']}", method="DELETE", headers=headers
        )
        urllib.request.urlopen(request).close()


@pytest.fixture(scope="session")
def html_edition():
    """The offline HTML edition that ``make html`` built."""
    index = course.ROOT / "build" / "html" / "index.html"
    if not index.exists():
        pytest.fail("build/html/index.html is missing: run `make html` first (make browser-test does)")
    return index.parent


def pytest_sessionstart(session):
    if os.environ.get("SCALEKIT_BROWSER_TEST") == "1" and SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
