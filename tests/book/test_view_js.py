"""tconv/view.js in chromium: it draws exactly the numbers Python precomputed.

The explorer's JS does no arithmetic, but it formats, lays out and highlights; these tests feed
it tables built by tconv.widgets from random arrays and read the numbers back from the DOM.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from site_browser import serve

import tconv
from tconv.widgets import Slider, heatmap, matrix, plot, precompute, text, vector

pytestmark = pytest.mark.browser

VIEW_JS = tconv.__path__[0] + "/view.js"
HARNESS = "<!doctype html><meta charset=utf-8><div id=root></div>"

# Renders `table` with view.js through a stand-in for the widget model (get / on), the same
# interface anywidget gives it, and exposes a setter for the slider traits.
RENDER_JS = """
async ({table, values}) => {
  const view = (await import('./view.js')).default;
  const state = {table, n_params: values.length};
  values.forEach((v, i) => { state['v' + i] = v; });
  const listeners = {};
  const model = {
    get: (name) => state[name],
    on: (event, callback) => { (listeners[event] = listeners[event] || []).push(callback); },
  };
  const root = document.getElementById('root');
  root.replaceChildren();
  view.render({model, el: root});
  window.setTrait = (i, v) => {
    state['v' + i] = v;
    (listeners['change:v' + i] || []).forEach((callback) => callback());
  };
}
"""

# The numbers (and highlight flags) of every table or heat map in the view, block by block,
# as rows of [text, highlighted]. Heat maps are canvases that carry their numbers as data.
READ_TABLES_JS = """
() => Array.from(document.querySelectorAll('#root table, #root canvas.tconv-heatmap'),
  (block) => {
    if (block.tagName === 'CANVAS') {
      const values = JSON.parse(block.dataset.values);
      const hl = block.dataset.highlight ? JSON.parse(block.dataset.highlight) : null;
      return values.map((row, i) => row.map((v, j) => [String(v), Boolean(hl && hl[i][j])]));
    }
    return Array.from(block.querySelectorAll('tr'))
      .map((tr) => Array.from(tr.querySelectorAll('td'),
        (td) => [td.textContent.replace('\\u2212', '-'), td.classList.contains('tconv-hl')]))
      .filter((row) => row.length);
  })
"""

# The colour painted in cell (i, j) of the first heat map, away from its text and frame.
CELL_COLOUR_JS = """
([i, j]) => {
  const canvas = document.querySelector('#root canvas.tconv-heatmap');
  const columns = JSON.parse(canvas.dataset.values)[0].length;
  const rows = JSON.parse(canvas.dataset.values).length;
  const cw = canvas.width / columns, ch = canvas.height / rows;
  const pixel = canvas.getContext('2d').getImageData(
    Math.floor(j * cw + cw * 0.2), Math.floor(i * ch + ch * 0.2), 1, 1).data;
  return Array.from(pixel);
}
"""


@pytest.fixture(scope="module")
def view_page(tmp_path_factory, chromium):
    root = tmp_path_factory.mktemp("view")
    shutil.copy(VIEW_JS, root / "view.js")
    (root / "index.html").write_text(HARNESS)
    with serve(root) as url:
        page = chromium.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "index.html")
        yield page, errors
        page.close()


def render(page, table, values):
    page.evaluate(RENDER_JS, {"table": json.loads(json.dumps(table)), "values": list(values)})


def numbers(cells):
    return np.array([[float(text) for text, _ in row] for row in cells])


def flags(cells):
    return np.array([[flag for _, flag in row] for row in cells])


small_floats = st.floats(-1000, 1000, allow_nan=False).map(lambda x: round(x, 3))
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=7),
                    elements=small_floats)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(array=arrays, data=st.data())
def test_matrix_and_vector_cells_show_the_precomputed_numbers(view_page, array, data):
    page, errors = view_page
    mask = data.draw(hnp.arrays(bool, array.shape))
    integral = data.draw(st.booleans())
    values = np.round(array) if integral else array

    table = precompute(lambda n: [matrix("W", values, highlight=mask), vector("y", values[0])],
                       [Slider("n", "n", 0, 0, 0)])
    render(page, table, [0])
    shown_matrix, shown_vector = page.evaluate(READ_TABLES_JS)
    np.testing.assert_allclose(numbers(shown_matrix), values, rtol=5e-4, atol=1e-9)
    np.testing.assert_array_equal(flags(shown_matrix), mask)
    np.testing.assert_allclose(numbers(shown_vector)[0], values[0], rtol=5e-4, atol=1e-9)
    if integral:  # integers are printed as integers, never "7.0"
        assert all("." not in text for row in shown_matrix for text, _ in row)
    assert not errors


def test_moving_a_slider_trait_shows_that_settings_entry(view_page):
    page, errors = view_page
    sliders = [Slider("a", "a", 0, 2, 0), Slider("b", "b", 1, 3, 1)]
    table = precompute(lambda a, b: [vector("ab", [a, b]), text(f"a={a}")], sliders)
    render(page, table, [0, 1])
    for a, b in [(2, 1), (2, 3), (0, 3)]:
        page.evaluate("([a, b]) => { setTrait(0, a); setTrait(1, b); }", [a, b])
        [shown] = page.evaluate(READ_TABLES_JS)
        assert numbers(shown).tolist() == [[a, b]]
        assert page.inner_text("#root .tconv-text") == f"a={a}"
    page.evaluate("() => setTrait(0, 7)")  # a value the table does not have
    assert "no precomputed result" in page.inner_text("#root")
    assert not errors


def test_plots_and_heatmaps_draw_one_mark_per_value(view_page):
    page, errors = view_page
    series = {"x": [0, 1, -2, 3], "y": [1.5, 0.5, 0]}
    grid = np.arange(12).reshape(3, 4) - 5
    table = precompute(lambda n: [plot("p", series), plot("s", series, style="stem"),
                                  heatmap("h", grid, highlight=grid > 0)],
                       [Slider("n", "n", 0, 0, 0)])
    render(page, table, [0])
    counts = page.evaluate("""() => Array.from(document.querySelectorAll('#root svg')).map(
        (svg) => ['circle', 'polyline'].map((tag) => svg.querySelectorAll(tag).length))""")
    assert counts == [[7, 2], [7, 0]]  # 4 + 3 points; lines only in the line plot
    legend = page.evaluate(
        "() => Array.from(document.querySelectorAll('.tconv-legend-item'), (e) => e.textContent)")
    assert legend == ["x", "y", "x", "y"]
    [shown] = page.evaluate(READ_TABLES_JS)
    np.testing.assert_array_equal(numbers(shown), grid)
    np.testing.assert_array_equal(flags(shown), grid > 0)
    red, _, blue, _ = page.evaluate(CELL_COLOUR_JS, [2, 3])  # the largest value, 6: blue
    assert blue > red
    red, _, blue, _ = page.evaluate(CELL_COLOUR_JS, [0, 0])  # the most negative, -5: red
    assert red > blue
    assert not errors
