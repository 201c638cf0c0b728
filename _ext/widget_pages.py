"""Sphinx extension: what a page with widgets loads, and how its widget state is stored.

myst-nb embeds the state of a page's widgets (every precomputed explorer table included) as a
``<script type="application/vnd.jupyter.widget-state+json">`` and, with ``nb_ipywidgets_js``
empty in _config.yml, leaves the scripts to this extension. For each page with widgets it
picks one of two managers (both vendored, see _vendor/README.md):

- the book's own (``vendor/widgets/embed.js``, _vendor/widgets/embed.js): ipywidgets 8 base and
  controls plus modules loaded by require.js (anywidget's front-end), 0.43 MB. Its pages store
  the state gzip-compressed and base64-encoded, with each long string that several models
  share (every explorer's copy of view.js and view.css) kept once: a tenth of the JSON;
- ``@jupyter-widgets/html-manager`` (``vendor/html-manager/embed-amd.js``, 3.6 MB) when the
  state needs what only it has: an Output widget, ipywidgets 7 models, a description allowed
  to hold HTML (its sanitizer). Its pages keep the standard JSON, written compactly.

Both load require.js and ``vendor/offline_widgets.js`` (require.js paths to this site), all
deferred: nothing blocks the page while it is parsed. On the book's manager's pages, MathJax
loads and typesets once the widgets are rendered (``widgets_before_math.js``, inlined): its
script tag is held (a type that does not run) until then.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx_offline import add_preloads

logger = logging.getLogger(__name__)

WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"
# What the book's manager reads: {"widget_state": <standard state, shared strings blanked>,
# "shared_strings": [{"text": ..., "at": [[model id, state key], ...]}]}, as gzip + base64.
PACKED_STATE_TYPE = "application/vnd.tconv.widget-state+gzip"
# Paths as _config.yml writes them: relative to _static/ (the vendored files are served from
# the site's vendor/ through html_extra_path).
REQUIRE_JS = "../vendor/requirejs/require.js"
OFFLINE_WIDGETS_JS = "../vendor/offline_widgets.js"
BOOK_MANAGER_JS = "../vendor/widgets/embed.js"
BOOK_MANAGER_CSS = "../vendor/widgets/embed.css"
HTML_MANAGER_JS = "../vendor/html-manager/embed-amd.js"
# Off-screen sections skip style, layout and paint until they come near (from _ext/static/).
SECTIONS_CSS = "tconv-sections.css"
# Widget modules loaded by require.js that the page can start fetching at once, as site paths:
# where offline_widgets.js maps them (anywidget, the front-end of every explorer).
PRELOADED_MODULES = {"anywidget": "vendor/anywidget/index.js"}
# Where the managers would fetch a module they lack: this site (offline_widgets.js makes it
# absolute, for pages at any depth), never a CDN.
WIDGETS_CDN = "../vendor/npm/"
BUILT_IN_MODULES = ("@jupyter-widgets/base", "@jupyter-widgets/controls")
WIDGETS_BEFORE_MATH_JS = Path(__file__).with_name("widgets_before_math.js")
# The type that holds the MathJax loader's script tag until widgets_before_math.js starts it.
MATHJAX_HELD_TYPE = "text/x-tconv-mathjax"
SHARED_STRING_MIN_CHARS = 1000  # shorter repeats cost less than their address
# After myst-nb (500) has added the state; before sphinx_offline's checks (900).
PRIORITY = 600


def html_manager_reasons(state: dict) -> list[str]:
    """Why this widget state needs @jupyter-widgets/html-manager (empty: the book's manager)."""
    reasons = set()
    if state.get("version_major") != 2:
        reasons.add(f"widget state format {state.get('version_major')}")
    for model in state.get("state", {}).values():
        values = model.get("state", {})
        modules = {(model.get("model_module"), model.get("model_module_version", "")),
                   (values.get("_view_module"), values.get("_view_module_version") or "")}
        for module, version in modules:
            if module == "@jupyter-widgets/output":
                reasons.add("an Output widget")
            elif module in BUILT_IN_MODULES and not version.startswith("2."):
                reasons.add(f"ipywidgets 7 models ({module} {version})")
        if values.get("description_allow_html"):
            reasons.add("a description that may hold HTML")
    return sorted(reasons)


def share_repeated_strings(state: dict) -> list[dict[str, Any]]:
    """Blank every long string that several models' states hold; return where each goes back.

    Only top-level state values are shared (anywidget's ``_esm`` and ``_css``, identical in every
    explorer); the book's manager puts them back before it creates the models.
    """
    places = defaultdict(list)
    for model_id, model in state["state"].items():
        for key, value in model.get("state", {}).items():
            if isinstance(value, str) and len(value) >= SHARED_STRING_MIN_CHARS:
                places[value].append([model_id, key])
    shared = [{"text": text, "at": at} for text, at in places.items() if len(at) > 1]
    for entry in shared:
        for model_id, key in entry["at"]:
            state["state"][model_id]["state"][key] = ""
    return shared


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def packed_state(state: dict) -> str:
    """The state as the book's manager reads it (gzip's mtime fixed: the same page, the same
    bytes, build after build)."""
    shared = share_repeated_strings(state)
    payload = compact_json({"widget_state": state, "shared_strings": shared}).encode()
    return base64.b64encode(gzip.compress(payload, compresslevel=9, mtime=0)).decode()


def script_body(text: str) -> str:
    """Text safe inside a <script> element (as myst-nb escapes it)."""
    return text.replace("</", "<\\/")


def model_modules(state: dict) -> set[str]:
    return {model.get("model_module") for model in state.get("state", {}).values()}


def hold_mathjax(app: Sphinx, scripts: list) -> None:
    """Give the page's MathJax loader a type that does not run; widgets_before_math.js loads it
    once the widgets are rendered. Its components stay preloaded (sphinx_offline.py)."""
    for script in list(scripts):
        if script.filename and str(script.filename).endswith(app.config.mathjax_path):
            scripts.remove(script)
            app.add_js_file(app.config.mathjax_path, priority=script.priority,
                            type=MATHJAX_HELD_TYPE)


def add_widget_assets(app: Sphinx, pagename: str, context: dict, state: dict) -> None:
    reasons = html_manager_reasons(state)
    common = {"priority": PRIORITY, "defer": "defer"}
    app.add_css_file(SECTIONS_CSS, priority=PRIORITY)
    app.add_js_file(REQUIRE_JS, **common)
    app.add_js_file(OFFLINE_WIDGETS_JS, **common, **{"data-jupyter-widgets-cdn": WIDGETS_CDN})
    if reasons:
        logger.info("%s: widgets rendered by html-manager (%s)", pagename, ", ".join(reasons))
        app.add_js_file(None, priority=PRIORITY, type=WIDGET_STATE_TYPE,
                        body=script_body(compact_json(state)))
        app.add_js_file(HTML_MANAGER_JS, **common)
        return
    hold_mathjax(app, context.get("script_files") or [])
    app.add_js_file(None, priority=PRIORITY, type=PACKED_STATE_TYPE, body=packed_state(state))
    app.add_js_file(None, priority=PRIORITY,
                    body=script_body(WIDGETS_BEFORE_MATH_JS.read_text(encoding="utf-8")))
    app.add_js_file(BOOK_MANAGER_JS, **common)
    app.add_css_file(BOOK_MANAGER_CSS, priority=PRIORITY)
    add_preloads(context, [PRELOADED_MODULES[m]
                           for m in sorted(model_modules(state) & PRELOADED_MODULES.keys())])


def widget_page_assets(app, pagename, templatename, context, doctree) -> None:
    """Replace myst-nb's widget state script with the stored form and this page's scripts."""
    scripts = context.get("script_files") or []
    states = [s for s in scripts if s.attributes.get("type") == WIDGET_STATE_TYPE]
    if not states:
        return
    if len(states) > 1:
        raise ValueError(f"page {pagename!r} has {len(states)} widget states; myst-nb makes one")
    state = json.loads(states[0].attributes["body"])
    # Removed in place: while a page is written, its script list is the one app.add_js_file
    # (and add_css_file, for css_files) appends to, for this page only.
    scripts.remove(states[0])
    add_widget_assets(app, pagename, context, state)


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", widget_page_assets, priority=PRIORITY)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
