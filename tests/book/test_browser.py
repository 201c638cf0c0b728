"""The built book in a real browser: offline, error-free, math typeset, every slider alive,
and every explorer showing what its torch oracle computes.

Each page listed in _toc.yml is opened once in Debian's chromium (see ``visit``); the tests
below then check one property each of what that visit saw. Nothing here knows what a chapter
contains: it finds the math, the ipywidgets sliders and the explorers on the page and works on
all of them (the explorers' expected numbers come from tests/book/oracles/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from explorer_oracle import ExplorerChecks, check_page_explorers
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from view_reading import RECORD_CANVAS_TEXT_JS

from testkit.browser import block_other_hosts, is_local
from testkit.site import (
    WIDGET_CONTENT_JS,
    WIDGET_VIEW_SCRIPT,
    chapter_pages,
    slider_handles,
    slider_label,
    slider_value,
    step_key,
    toc_pages,
    wait_for_widgets,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PAGES = toc_pages(REPO)
# Chapters live in book/ (the repository layout); each must have math and sliders. Other
# pages (the root, the exercises release) get every other check.
CHAPTER_PAGES = chapter_pages(REPO)
REDRAW_TIMEOUT_MS = 5000  # generous: a redraw takes milliseconds, CI machines are shared


@dataclass
class SliderCheck:
    label: str
    value_before: str
    value_after: str
    content_changed: bool


@dataclass
class Visit:
    """What one page did in the browser, from navigation to the last slider moved."""

    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    widget_views: int = 0
    widgets_rendered: int = 0
    math_elements: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    mathjax_outputs: int = 0
    sliders: list[SliderCheck] = field(default_factory=list)
    explorers: ExplorerChecks | None = None


# The math Sphinx writes (span.math / div.math) that MathJax did not replace, and TeX errors.
MATH_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    elements: math.length,
    untypeset: math.filter((m) => !m.querySelector('mjx-container'))
      .map((m) => m.textContent.slice(0, 80)),
    errors: Array.from(document.querySelectorAll('mjx-merror'))
      .map((e) => e.getAttribute('data-mjx-error') || e.textContent),
    outputs: document.querySelectorAll('mjx-container').length,
  };
}
"""


def move_and_watch(page, handle) -> SliderCheck:
    """Move one slider a step with the keyboard; record whether what the widget shows changed."""
    label = slider_label(handle)
    forward, back = step_key(handle)
    element = handle.element_handle()
    before_value = slider_value(handle)
    before = element.evaluate(WIDGET_CONTENT_JS)
    handle.focus()
    page.keyboard.press(forward)
    try:
        page.wait_for_function(
            f"([h, before]) => ({WIDGET_CONTENT_JS})(h) !== before", arg=[element, before],
            timeout=REDRAW_TIMEOUT_MS,
        )
        changed = True
    except PlaywrightTimeout:
        changed = False
    check = SliderCheck(label, before_value, slider_value(handle), changed)
    if check.value_after != before_value:  # leave the slider as the reader found it
        page.keyboard.press(back)
        page.wait_for_function(
            "([h, v]) => h.getAttribute('aria-valuenow') === v", arg=[element, before_value],
            timeout=REDRAW_TIMEOUT_MS,
        )
        wait_for_widgets(page, quiet_ms=100)
    return check


def visit_page(browser, url: str, page_path: str) -> Visit:
    visit = Visit()
    context = browser.new_context()
    block_other_hosts(context, visit.refused)
    context.add_init_script(RECORD_CANVAS_TEXT_JS)  # so heat maps can be read as painted
    page = context.new_page()
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("websocket", lambda ws: visit.requests.append(ws.url))
    page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and visit.console_errors.append(
        f"{msg.text} ({msg.location.get('url', '')})"))
    try:
        page.goto(url, wait_until="load")
        visit.widget_views = page.locator(WIDGET_VIEW_SCRIPT).count()
        visit.widgets_rendered = wait_for_widgets(page)
        math = page.evaluate(MATH_JS)
        visit.math_elements = math["elements"]
        visit.untypeset_math = math["untypeset"]
        visit.math_errors = math["errors"]
        visit.mathjax_outputs = math["outputs"]
        visit.sliders = [move_and_watch(page, handle) for handle in slider_handles(page)]
        visit.explorers = check_page_explorers(page, Path(page_path).stem, REDRAW_TIMEOUT_MS)
        # Late requests and errors of the last redraw come with its DOM changes: wait (with a
        # deadline) until the page has not changed for a while.
        wait_for_widgets(page, quiet_ms=200)
    finally:
        context.close()
    return visit


@pytest.fixture(scope="module")
def visits(built_site, site_url, chromium):
    """Each page is visited once, on first use, and its Visit shared by the tests below."""
    seen: dict[str, Visit] = {}

    def get(page_path: str) -> Visit:
        if page_path not in seen:
            assert (built_site / page_path).is_file(), f"{page_path} is in _toc.yml but not built"
            seen[page_path] = visit_page(chromium, site_url + page_path, page_path)
        return seen[page_path]

    return get


@pytest.mark.parametrize("page_path", PAGES)
def test_nothing_loads_from_another_host(visits, page_path):
    visit = visits(page_path)
    outside = sorted({url for url in visit.requests + visit.refused if not is_local(url)})
    assert not outside, f"{page_path} requested other hosts: {outside}"


@pytest.mark.parametrize("page_path", PAGES)
def test_no_page_or_console_errors(visits, page_path):
    visit = visits(page_path)
    assert not visit.page_errors, f"{page_path}: uncaught errors {visit.page_errors}"
    assert not visit.console_errors, f"{page_path}: console errors {visit.console_errors}"


@pytest.mark.parametrize("page_path", PAGES)
def test_every_widget_renders(visits, page_path):
    visit = visits(page_path)
    assert visit.widgets_rendered == visit.widget_views, (
        f"{page_path}: {visit.widgets_rendered} of {visit.widget_views} widgets rendered")


@pytest.mark.parametrize("page_path", PAGES)
def test_math_is_typeset(visits, page_path):
    visit = visits(page_path)
    assert not visit.untypeset_math, f"{page_path}: math left as TeX: {visit.untypeset_math}"
    assert not visit.math_errors, f"{page_path}: MathJax errors: {visit.math_errors}"
    if page_path in CHAPTER_PAGES:
        assert visit.mathjax_outputs > 0, f"{page_path}: no MathJax output (mjx-container)"


@pytest.mark.parametrize("page_path", PAGES)
def test_every_slider_moves_with_the_keyboard_and_changes_the_widget(visits, page_path):
    visit = visits(page_path)
    if page_path in CHAPTER_PAGES:
        assert visit.sliders, f"{page_path}: a chapter without sliders"
    stuck = [s.label for s in visit.sliders if s.value_after == s.value_before]
    assert not stuck, f"{page_path}: sliders the arrow keys did not move: {stuck}"
    dead = [f"{s.label} ({s.value_before} -> {s.value_after})"
            for s in visit.sliders if not s.content_changed]
    assert not dead, f"{page_path}: moving these sliders changed nothing the widget shows: {dead}"


@pytest.mark.parametrize("page_path", PAGES)
def test_every_explorer_shows_what_its_torch_oracle_computes(visits, page_path):
    checks = visits(page_path).explorers
    if checks.failures:  # one line per explorer, setting and block, with the largest difference
        pytest.fail(f"{page_path}:\n" + "\n".join(checks.failures), pytrace=False)
