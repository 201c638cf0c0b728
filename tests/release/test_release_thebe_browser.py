"""Live code (Thebe) in Debian's Chromium: the button is there and the page loads cleanly.

For every notebook page of the built site, served on 127.0.0.1: the page throws no errors, no
request leaves 127.0.0.1 while it loads (any that tries is recorded and aborted), the launch menu
opens and shows the "Live Code" button, and Thebe's entry point and config are in place.
Pressing the button must then ask for the Thebe library and nothing else (the request is
recorded and aborted: Live Code loads Thebe and starts a Binder server, outside by nature).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from release_helpers import book_config, notebook_pages

from testkit.browser import block_other_hosts

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PAGE_LOAD_TIMEOUT_MS = 60_000
THEBE_BUTTON = 'button[onclick="initThebeSBT()"]'
SETTLED_MS, SETTLE_TIMEOUT_MS = 300, 30_000
# A page has settled when nothing has loaded and nothing in it has changed for quietMs: a late
# script's errors come with its load or its changes to the page.
SETTLED_JS = """
async ({quietMs, timeoutMs}) => {
  const start = performance.now();
  let last = start;
  const touch = () => { last = performance.now(); };
  const changes = new MutationObserver(touch);
  changes.observe(document, {subtree: true, childList: true, attributes: true,
                             characterData: true});
  const loads = new PerformanceObserver(touch);
  loads.observe({type: 'resource'});
  try {
    while (performance.now() - last < quietMs) {
      if (performance.now() - start > timeoutMs) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  } finally {
    changes.disconnect();
    loads.disconnect();
  }
}
"""


def wait_until_settled(page) -> None:
    settled = page.evaluate(SETTLED_JS, {"quietMs": SETTLED_MS, "timeoutMs": SETTLE_TIMEOUT_MS})
    assert settled, f"the page kept loading or changing for {SETTLE_TIMEOUT_MS} ms"


def open_page(browser, url: str):
    """Load a page, blocking and recording every request that would leave the machine."""
    page = browser.new_page()
    record = {"errors": [], "foreign": []}
    page.on("pageerror", lambda error: record["errors"].append(str(error)))
    block_other_hosts(page, record["foreign"])
    page.goto(url, wait_until="networkidle", timeout=PAGE_LOAD_TIMEOUT_MS)
    return page, record


@pytest.mark.parametrize("docname", notebook_pages())
def test_live_code_button_present_and_page_clean(chromium, site_url, docname):
    page, record = open_page(chromium, f"{site_url}{docname}.html")
    try:
        assert page.locator(THEBE_BUTTON).count() == 1, f"{docname}: no Live Code button"
        page.locator(".dropdown-launch-buttons > button").click()
        page.locator(THEBE_BUTTON).wait_for(state="visible")
        assert page.evaluate("typeof initThebeSBT") == "function"
        config = page.locator('script[type="text/x-thebe-config"]').inner_text()
        org_repo = urlsplit(book_config()["repository"]["url"]).path.strip("/")
        assert f'repo: "{org_repo}"' in config, config
        wait_until_settled(page)  # late async scripts report their errors
        assert not record["errors"], f"{docname}: page errors {record['errors']}"
        assert not record["foreign"], f"{docname}: requests left 127.0.0.1: {record['foreign']}"
        thebe_library = page.evaluate("THEBE_JS_URL")
        with page.expect_request(thebe_library, timeout=PAGE_LOAD_TIMEOUT_MS):
            page.locator(THEBE_BUTTON).click()
        assert record["foreign"] == [thebe_library], record["foreign"]
    finally:
        page.close()
