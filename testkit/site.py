"""The built book as its tests and benchmarks/slider_latency.py read it.

All look at the site the same way: every page listed in _toc.yml, every ipywidgets slider on
it, the files a page loads and the widget state it embeds. Serving it and driving chromium over
it: testkit.browser.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import yaml

# An ipywidgets slider (IntSlider, FloatSlider, ...) and its keyboard-focusable handle.
SLIDER = ".widget-slider"
SLIDER_HANDLE = ".noUi-handle"
# html-manager renders each widget into a .widget-subarea placed before its view script.
WIDGET_VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGET_STATE_SCRIPT = 'script[type="application/vnd.jupyter.widget-state+json"]'
# How _ext/widget_pages.py stores the state on pages that the book's widget manager renders:
# gzip + base64 of {"widget_state": ..., "shared_strings": [{"text", "at": [[model, key]]}]}.
PACKED_WIDGET_STATE_TYPE = "application/vnd.tconv.widget-state+gzip"
STANDARD_WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"
WIDGET_STATE_TAG = re.compile(
    r'<script[^>]*\btype="(' + re.escape(STANDARD_WIDGET_STATE_TYPE) + "|"
    + re.escape(PACKED_WIDGET_STATE_TYPE) + r')"[^>]*>(.*?)</script>', re.S)


def embedded_state_scripts(html: str) -> list[tuple[str, str]]:
    """(type, text) of each widget state script in a built page, as shipped."""
    return WIDGET_STATE_TAG.findall(html)


def decoded_widget_state(kind: str, text: str) -> dict:
    """The standard widget state ({"version_major", "version_minor", "state"}) a script holds."""
    if kind == STANDARD_WIDGET_STATE_TYPE:
        return json.loads(text)
    packed = json.loads(gzip.decompress(base64.b64decode(text)))
    state = packed["widget_state"]
    for shared in packed["shared_strings"]:
        for model_id, key in shared["at"]:
            state["state"][model_id]["state"][key] = shared["text"]
    return state


def embedded_widget_state(html: str) -> dict | None:
    """The widget state of a built page (None: the page has no widgets)."""
    scripts = embedded_state_scripts(html)
    if len(scripts) > 1:
        raise ValueError(f"{len(scripts)} widget state scripts in one page")
    return decoded_widget_state(*scripts[0]) if scripts else None


def widget_state_text(html: str) -> str:
    """A page's widget state as myst-nb wrote it into the page (JSON, non-ASCII escaped):
    what a test reads to find a precomputed explorer table's text, whatever form the page
    stores the state in ("" when the page has no widgets)."""
    state = embedded_widget_state(html)
    return json.dumps(state) if state else ""


def explorer_names(html: str) -> list[str]:
    """The names (``data-explorer``) of the tconv explorers a built page's widget state holds,
    in the state's order, whatever form the page stores the state in."""
    state = embedded_widget_state(html) or {"state": {}}
    return [model["state"]["name"] for model in state["state"].values()
            if model["state"].get("_anywidget_id") == "tconv.widgets.View"]


def loaded_urls(html: str) -> list[str]:
    """URLs a page loads; <link> only when it is a stylesheet, icon, preload or module."""
    urls = []
    for tag in re.finditer(r"<(script|link|img|iframe|source|video|audio)\b[^>]*>", html, re.I):
        text = tag.group(0)
        if tag.group(1).lower() == "link" and not re.search(
                r'rel="(stylesheet|icon|preload|modulepreload|shortcut icon)"', text):
            continue  # prev/next/search links are navigation, not loads
        found = re.search(r'\b(?:src|href)="([^"]*)"', text)
        if found:
            urls.append(found.group(1))
    return urls


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


def chapter_pages(repo: Path) -> list[str]:
    """The chapters among ``toc_pages``: the pages in book/ after the intro (the root), whatever
    their number; other pages (the exercises release) are not chapters."""
    return [page for page in toc_pages(repo)[1:] if page.startswith("book/")]


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
