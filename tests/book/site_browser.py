"""Serve the built book on 127.0.0.1 and drive Debian's chromium over it.

Shared by tests/book/test_browser.py and benchmarks/slider_latency.py, so both look at the
site the same way: every page listed in _toc.yml, every ipywidgets slider on it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"
# Schemes that never leave the browser (anywidget imports its ES module from a blob: URL).
IN_BROWSER_SCHEMES = {"data", "blob", "about"}

# An ipywidgets slider (IntSlider, FloatSlider, ...) and its keyboard-focusable handle.
SLIDER = ".widget-slider"
SLIDER_HANDLE = ".noUi-handle"
# html-manager renders each widget into a .widget-subarea placed before its view script.
WIDGET_VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGET_STATE_SCRIPT = 'script[type="application/vnd.jupyter.widget-state+json"]'


def toc_files(toc: dict) -> list[str]:
    """Every ``file`` in a Jupyter Book _toc.yml, root first, in reading order."""
    files = [toc["root"]] if "root" in toc else []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    for key in ("parts", "chapters", "sections"):
        walk(toc.get(key))
    return files


def toc_pages(repo: Path) -> list[str]:
    """Site-relative HTML paths of every page the book's _toc.yml lists."""
    toc = yaml.safe_load((repo / "_toc.yml").read_text())
    return [str(Path(f).with_suffix("")) + ".html" for f in toc_files(toc)]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in IN_BROWSER_SCHEMES or parts.hostname == LOCAL_HOST


def block_other_hosts(context, refused: list[str]) -> None:
    """Abort (and record) every request that would leave 127.0.0.1, so tests stay offline."""

    def route(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", route)


# Resolves once the page's widgets have rendered and the DOM has been quiet for `quietMs`
# (or after `timeoutMs`); returns the number of widget views rendered.
WIDGETS_SETTLED_JS = """
async ({quietMs, timeoutMs}) => {
  const start = performance.now();
  const views = () => document.querySelectorAll('__VIEW__');
  const rendered = () => Array.from(views()).filter(
    (s) => s.previousElementSibling && s.previousElementSibling.classList.contains('widget-subarea')
      && s.previousElementSibling.childElementCount > 0).length;
  while (rendered() < views().length && performance.now() - start < timeoutMs)
    await new Promise((r) => setTimeout(r, 20));
  await new Promise((resolve) => {
    let timer = setTimeout(done, quietMs);
    const observer = new MutationObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    observer.observe(document.body,
      {subtree: true, childList: true, characterData: true, attributes: true});
    function done() { observer.disconnect(); resolve(); }
    setTimeout(done, Math.max(0, timeoutMs - (performance.now() - start)));
  });
  return rendered();
}
""".replace("__VIEW__", WIDGET_VIEW_SCRIPT)

# What a widget shows apart from its sliders: the HTML of the slider's widget output
# (.widget-subarea) with every slider removed. Moving a slider must change this.
WIDGET_CONTENT_JS = """
(handle) => {
  const area = handle.closest('.widget-subarea') || handle.closest('.cell_output')
    || document.body;
  const copy = area.cloneNode(true);
  copy.querySelectorAll('__SLIDER__').forEach((s) => s.remove());
  return copy.innerHTML;
}
""".replace("__SLIDER__", SLIDER)


def wait_for_widgets(page, quiet_ms: int = 300, timeout_ms: int = 15000) -> int:
    return page.evaluate(WIDGETS_SETTLED_JS, {"quietMs": quiet_ms, "timeoutMs": timeout_ms})


def slider_handles(page):
    """Locators for the handle of every slider on the page, in document order."""
    handles = page.locator(f"{SLIDER} {SLIDER_HANDLE}")
    return [handles.nth(i) for i in range(handles.count())]


def slider_label(handle) -> str:
    return handle.evaluate(
        "(h) => (h.closest('.widget-slider').querySelector('.widget-label') || {})"
        ".textContent || ''"
    )


def step_key(handle) -> tuple[str, str]:
    """The arrow key that moves this slider (right unless it is at its maximum), and back."""
    now, top = handle.evaluate(
        "(h) => [Number(h.getAttribute('aria-valuenow')), Number(h.getAttribute('aria-valuemax'))]"
    )
    return ("ArrowRight", "ArrowLeft") if now < top else ("ArrowLeft", "ArrowRight")


def slider_value(handle) -> str:
    return handle.get_attribute("aria-valuenow")
