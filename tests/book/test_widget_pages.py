"""_ext/widget_pages.py: each page with widgets gets the widget manager its state needs, and a
compact state that decodes to exactly what myst-nb embedded.

The unit tests call the extension's functions; the last test builds a scratch book (the
repository's _config.yml, _ext and _vendor) with one page for each manager and opens both in
chromium.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scratch_book import MYST_NOTEBOOK_HEADER, build, make_book

from testkit.browser import block_other_hosts, serve
from testkit.site import (
    PACKED_WIDGET_STATE_TYPE,
    STANDARD_WIDGET_STATE_TYPE,
    decoded_widget_state,
    embedded_state_scripts,
    embedded_widget_state,
    slider_handles,
    wait_for_widgets,
)

REPO = Path(__file__).resolve().parents[2]


def load_extension(name: str):
    """An _ext module by path (jupyter-book loads them so); registered under its name, since
    widget_pages imports sphinx_offline as Sphinx would find it."""
    spec = importlib.util.spec_from_file_location(name, REPO / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


load_extension("sphinx_offline")
widget_pages = load_extension("widget_pages")


def model(module: str, version: str, name: str = "IntSliderModel", **state) -> dict:
    return {"model_name": name, "model_module": module, "model_module_version": version,
            "state": {"_view_module": module, "_view_module_version": version, **state}}


def widget_state(*models: dict) -> dict:
    return {"version_major": 2, "version_minor": 0,
            "state": {f"m{i}": m for i, m in enumerate(models)}}


def test_ipywidgets_8_and_other_modules_get_the_books_manager():
    state = widget_state(model("@jupyter-widgets/controls", "2.0.0"),
                         model("@jupyter-widgets/base", "2.0.0", "LayoutModel"),
                         model("anywidget", "~0.9.*", "AnyModel", _esm="export default {}"))
    assert widget_pages.html_manager_reasons(state) == []


@pytest.mark.parametrize("models, reason", [
    ([model("@jupyter-widgets/output", "1.0.0", "OutputModel")], "an Output widget"),
    ([model("@jupyter-widgets/controls", "1.5.0")], "ipywidgets 7 models"),
    ([model("@jupyter-widgets/controls", "2.0.0", description_allow_html=True)],
     "a description that may hold HTML"),
])
def test_states_needing_more_get_html_manager(models, reason):
    reasons = widget_pages.html_manager_reasons(widget_state(*models))
    assert any(r.startswith(reason) for r in reasons), reasons


def test_another_state_format_gets_html_manager():
    assert widget_pages.html_manager_reasons({"version_major": 1, "state": {}})


text_values = st.text(st.characters(codec="utf-8"), max_size=30)


@settings(max_examples=40, deadline=None)
@given(shared=st.lists(st.text(min_size=1000, max_size=1200), min_size=1, max_size=3),
       uses=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5)), max_size=12),
       other=st.dictionaries(st.sampled_from(["a", "b", "c"]), text_values | st.integers()))
def test_the_packed_state_decodes_to_the_original(shared, uses, other):
    models = [model("anywidget", "0.9", "AnyModel", **other) for _ in range(6)]
    for which, at in uses:  # long strings, some held by several models
        models[at]["state"][f"s{which}"] = shared[which % len(shared)]
    original = widget_state(*models, model("@jupyter-widgets/controls", "2.0.0",
                                           description="</script><b>"))
    packed = widget_pages.packed_state(copy.deepcopy(original))
    assert decoded_widget_state(PACKED_WIDGET_STATE_TYPE, packed) == original
    # each long string is stored once, however many models hold it
    payload = widget_pages.gzip.decompress(widget_pages.base64.b64decode(packed)).decode()
    for text in set(shared):
        assert payload.count(json.dumps(text)[1:-1]) <= 1


# A scratch book: the repository's configuration, one page per widget manager.
EXPLORER_PAGE = MYST_NOTEBOOK_HEADER + """# Sliders

The slider sets the length $n$ (math on the page: MathJax loads, and typesets the label).

```{code-cell} ipython3
from tconv.widgets import Slider, explorer, text, vector

explorer(lambda n: [vector("x", list(range(n)), key="x"), text(f"n = {n}", key="caption")],
         [Slider("n", "length $n$", 1, 4, 2)], name="ch99-scratch")
```
"""
OUTPUT_PAGE = MYST_NOTEBOOK_HEADER + """# Output

```{code-cell} ipython3
import ipywidgets as widgets

out = widgets.Output()
with out:
    print("printed into an Output widget")
widgets.VBox([widgets.IntSlider(3, 0, 5, description="<b>bold</b>",
                                description_allow_html=True), out])
```
"""
@pytest.fixture(scope="module")
def scratch_site(tmp_path_factory) -> Path:
    root = make_book(tmp_path_factory.mktemp("widget-pages") / "book",
                     {"sliders": EXPLORER_PAGE, "output": OUTPUT_PAGE},
                     intro="Two pages with widgets.")
    result = build(root)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return root / "_build" / "html"


@pytest.mark.slow
def test_each_page_loads_the_manager_its_widgets_need(scratch_site):
    sliders = (scratch_site / "sliders.html").read_text(encoding="utf-8")
    output = (scratch_site / "output.html").read_text(encoding="utf-8")
    assert [kind for kind, _ in embedded_state_scripts(sliders)] == [PACKED_WIDGET_STATE_TYPE]
    assert "vendor/widgets/embed.js" in sliders and "embed-amd.js" not in sliders
    assert [kind for kind, _ in embedded_state_scripts(output)] == [STANDARD_WIDGET_STATE_TYPE]
    assert "html-manager/embed-amd.js" in output and "vendor/widgets/embed.js" not in output
    for html in (sliders, output):
        modules = {m["model_module"] for m in embedded_widget_state(html)["state"].values()}
        assert "@jupyter-widgets/controls" in modules


@pytest.mark.slow
@pytest.mark.browser
def test_both_managers_render_their_pages_in_chromium(scratch_site, chromium):
    refused, errors = [], []
    with serve(scratch_site) as url:
        context = chromium.new_context()
        block_other_hosts(context, refused)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda msg: msg.type == "error" and "favicon" not in str(
            msg.location) and errors.append(msg.text))
        try:
            page.goto(url + "sliders.html", wait_until="load")
            assert wait_for_widgets(page) == 1
            view = page.locator("[data-explorer='ch99-scratch']")
            assert view.get_attribute("data-setting") == "2"
            slider_handles(page)[0].focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "() => document.querySelector('[data-explorer]').dataset.setting === '3'")
            assert "n = 3" in view.inner_text()
            page.wait_for_function(  # the slider's label, typeset by MathJax through the manager
                "() => document.querySelector('.widget-slider mjx-container') !== null")

            page.goto(url + "output.html", wait_until="load")
            assert wait_for_widgets(page) == 1
            page.wait_for_function("() => document.body.innerText.includes("
                                   "'printed into an Output widget')")
            assert page.locator(".widget-slider .widget-label b").inner_text() == "bold"
        finally:
            context.close()
    assert not refused, refused
    assert not errors, errors
