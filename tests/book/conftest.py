"""Fixtures for the browser tests: the built site served on 127.0.0.1, and Debian's chromium."""

from __future__ import annotations

import pytest
from site_browser import launch_chromium, serve


@pytest.fixture(scope="session")
def site_url(built_site):
    with serve(built_site) as url:
        yield url


# Module scope: one Playwright at a time per process (its sync API refuses to nest), so each
# test module, here or in another test folder, starts and stops its own.
@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
