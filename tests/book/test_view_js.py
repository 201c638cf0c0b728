"""tconv/view.js in chromium: it draws exactly the numbers Python precomputed.

The explorer's JS does no arithmetic, but it formats, lays out and highlights; these tests feed
it tables built by tconv.widgets and read back what is drawn: table cells' text, the text and
colours painted on heat-map canvases, the positions of plot points, computed styles.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from view_reading import (
    READ_BLOCK_JS,
    RECORD_CANVAS_TEXT_JS,
    heatmap_numbers,
    plot_numbers,
    shade_values,
    table_numbers,
)

import tconv
from tconv.notebook import grid_html
from tconv.widgets import (
    HIGHLIGHT_RGB,
    MAX_PARAMS,
    Slider,
    View,
    heatmap,
    matrix,
    plot,
    precompute,
    row,
    text,
    vector,
)
from testkit.browser import serve

pytestmark = [pytest.mark.slow, pytest.mark.browser]

VIEW_JS = tconv.__path__[0] + "/view.js"
VIEW_CSS = tconv.__path__[0] + "/view.css"
HARNESS = ("<!doctype html><meta charset=utf-8><link rel=stylesheet href=view.css>"
           "<div id=root></div><div id=static></div>")

# Renders `state` (a View's synced traits) with view.js through a stand-in for the widget
# model (get / on), the interface anywidget gives it, and exposes a setter for the traits.
RENDER_JS = """
async (state) => {
  const view = (await import('./view.js')).default;
  const listeners = {};
  const model = {
    get: (name) => state[name],
    on: (event, callback) => { (listeners[event] = listeners[event] || []).push(callback); },
  };
  const root = document.getElementById('root');
  root.replaceChildren();
  root.className = '';
  view.render({model, el: root});
  window.setTrait = (name, v) => {
    state[name] = v;
    (listeners['change:' + name] || []).forEach((callback) => callback());
  };
}
"""

# The text and highlight classes of every table cell in the view, block by block.
READ_TABLES_JS = """
() => Array.from(document.querySelectorAll('#root table'), (table) =>
  Array.from(table.querySelectorAll('tr'), (tr) => Array.from(tr.querySelectorAll('td'),
    (td) => [td.textContent.replace('\\u2212', '-'), td.classList.contains('tconv-hl')]))
    .filter((row) => row.length))
"""

# The computed fill of each table cell of the block with data-key `key` (row by row).
CELL_BACKGROUNDS_JS = """
(key) => Array.from(document.querySelectorAll(`#root [data-key="${key}"] tr`), (tr) =>
  Array.from(tr.querySelectorAll('td'), (td) => {
    const style = getComputedStyle(td);
    return style.backgroundImage !== 'none' ? style.backgroundImage : style.backgroundColor;
  })).filter((row) => row.length)
"""


@pytest.fixture(scope="module")
def view_page(tmp_path_factory, chromium):
    root = tmp_path_factory.mktemp("view")
    shutil.copy(VIEW_JS, root / "view.js")
    shutil.copy(VIEW_CSS, root / "view.css")
    (root / "index.html").write_text(HARNESS)
    with serve(root) as url:
        page = chromium.new_page()
        page.add_init_script(RECORD_CANVAS_TEXT_JS)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "index.html")
        yield page, errors
        page.close()


def render(page, table, values):
    """Draw ``table`` at slider ``values`` with the traits a real View would sync."""
    view = View(table=table, n_params=len(values),
                **{f"v{i}": v for i, v in enumerate(values)})
    state = {k: v for k, v in view.get_state().items() if not k.startswith("_")}
    page.evaluate(RENDER_JS, json.loads(json.dumps(state)))


def one_setting(*blocks):
    return precompute(lambda n: list(blocks), [Slider("n", "n", 0, 0, 0)])


def read(page, key):
    reading = page.evaluate(READ_BLOCK_JS, [page.query_selector("#root"), key])
    assert reading["count"] == 1, f"{reading['count']} blocks with key {key!r}"
    return reading


def numbers(cells):
    return np.array([[float(text) for text, _ in row] for row in cells])


def flags(cells):
    return np.array([[flag for _, flag in row] for row in cells])


def rgba(rgb: str, alpha: float) -> str:
    return f"rgba({rgb}, {alpha})"


small_floats = st.floats(-1000, 1000, allow_nan=False).map(lambda x: round(x, 3))
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=7),
                    elements=small_floats)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(array=arrays, data=st.data())
def test_matrix_vector_and_heatmap_show_the_precomputed_numbers(view_page, array, data):
    page, errors = view_page
    mask = data.draw(hnp.arrays(bool, array.shape))
    integral = data.draw(st.booleans())
    values = np.round(array) if integral else array

    render(page, one_setting(matrix("W", values, highlight=mask), vector("y", values[0]),
                             heatmap("h", values)), [0])
    shown_matrix, shown_vector = page.evaluate(READ_TABLES_JS)
    np.testing.assert_allclose(numbers(shown_matrix), values, rtol=5e-4, atol=1e-9)
    np.testing.assert_array_equal(flags(shown_matrix), mask)
    np.testing.assert_allclose(numbers(shown_vector)[0], values[0], rtol=5e-4, atol=1e-9)
    if integral:  # integers are printed as integers, never "7.0"
        assert all("." not in text for row in shown_matrix for text, _ in row)
    scale = float(np.max(np.abs(values)))
    painted = heatmap_numbers(read(page, "h"), scale)  # the numbers painted on the canvas
    np.testing.assert_allclose(painted.values, values, rtol=5e-4, atol=1e-9)
    shades = np.array(read(page, "h")["shades"], float).reshape(*values.shape, 3)
    np.testing.assert_allclose(shade_values(shades) * scale, values, atol=0.01 * scale + 1e-9)
    assert not errors


def test_moving_a_slider_trait_shows_that_settings_entry(view_page):
    page, errors = view_page
    sliders = [Slider("a", "a", 0, 2, 0), Slider("b", "b", 1, 3, 1)]
    table = precompute(lambda a, b: [vector("ab", [a, b]), text(f"a={a}")], sliders)
    render(page, table, [0, 1])
    for a, b in [(2, 1), (2, 3), (0, 3)]:
        page.evaluate("([a, b]) => { setTrait('v0', a); setTrait('v1', b); }", [a, b])
        assert table_numbers(read(page, "ab")).values.tolist() == [[a, b]]
        assert page.inner_text("#root .tconv-text") == f"a={a}"
        assert page.get_attribute("#root", "data-setting") == f"{a},{b}"
    page.evaluate("() => setTrait('v0', 7)")  # a value the table does not have
    assert "no precomputed result" in page.inner_text("#root")
    assert not errors


def test_view_listens_to_every_slider_trait_up_to_max_params(view_page):
    page, errors = view_page
    sliders = [Slider(f"p{i}", f"p{i}", 0, 1, 0) for i in range(MAX_PARAMS)]
    table = precompute(lambda **values: [vector("v", list(values.values()))], sliders)
    assert [t for t in View.class_trait_names() if t[0] == "v" and t[1:].isdigit()] == [
        f"v{i}" for i in range(MAX_PARAMS)]
    render(page, table, [0] * MAX_PARAMS)
    for i in range(MAX_PARAMS):
        page.evaluate("(name) => setTrait(name, 1)", f"v{i}")
        expected = [1] * (i + 1) + [0] * (MAX_PARAMS - i - 1)
        assert table_numbers(read(page, "v")).values.tolist() == [expected]
    with pytest.raises(ValueError, match=f"at most {MAX_PARAMS}"):
        precompute(lambda **v: [], [*sliders, Slider("extra", "extra", 0, 0, 0)])
    assert not errors


def test_plots_draw_one_point_per_value_where_the_ticks_say(view_page):
    page, errors = view_page
    series = {"x": [0, 1, -2, 3], "y": [1.5, 0.5, 0]}
    render(page, one_setting(plot("p", series), plot("s", series, style="stem")), [0])
    counts = page.evaluate("""() => Array.from(document.querySelectorAll('#root svg')).map(
        (svg) => ['circle', 'polyline'].map((tag) => svg.querySelectorAll(tag).length))""")
    assert counts == [[7, 2], [7, 0]]  # 4 + 3 points; lines only in the line plot
    legend = page.evaluate(
        "() => Array.from(document.querySelectorAll('.tconv-legend-item'), (e) => e.textContent)")
    assert legend == ["x", "y", "x", "y"]
    for key in ("p", "s"):
        drawn = plot_numbers(read(page, key))
        for name, values in series.items():
            np.testing.assert_allclose(drawn[name].values, values, atol=drawn[name].atol)
    assert not errors


def test_heatmap_shades_blue_for_positive_and_red_for_negative(view_page):
    page, errors = view_page
    grid = np.arange(12).reshape(3, 4) - 5
    render(page, one_setting(heatmap("h", grid, highlight=grid > 0, show_values=False)), [0])
    reading = read(page, "h")
    assert reading["text"] == []  # show_values=False paints no numbers
    shades = np.array(reading["shades"], float).reshape(3, 4, 3)
    red, blue = shades[..., 0], shades[..., 2]
    assert blue[2, 3] > red[2, 3] and red[0, 0] > blue[0, 0]  # 6 blue, -5 red
    drawn = heatmap_numbers(reading, scale=6)
    np.testing.assert_allclose(drawn.values, grid, atol=drawn.atol)
    assert not errors


# ---- the richer blocks ------------------------------------------------------------------------

def test_named_highlight_classes_are_drawn_in_distinct_colours_with_a_legend(view_page):
    page, errors = view_page
    W = np.arange(1, 13).reshape(3, 4)
    window = np.zeros((3, 4), bool)
    window[1, :3] = True
    tap = np.zeros((3, 4), bool)
    tap[:, 2] = True
    render(page, one_setting(matrix("W", W, highlight={"window": window, "tap": tap}),
                             vector("x", W[0], highlight=W[0] > 2),
                             heatmap("h", W, highlight={"window": window, "tap": tap})), [0])
    fills = np.array(page.evaluate(CELL_BACKGROUNDS_JS, "W"), dtype=object)
    transparent = "rgba(0, 0, 0, 0)"
    window_fill, tap_fill = rgba(HIGHLIGHT_RGB[0], 0.38), rgba(HIGHLIGHT_RGB[1], 0.38)
    assert fills[1, 0] == window_fill and fills[0, 2] == tap_fill and fills[0, 0] == transparent
    assert window_fill in fills[1, 2] and tap_fill in fills[1, 2]  # both: a stripe of each
    assert "gradient" in fills[1, 2]
    assert {f for f in fills.ravel()} == {transparent, window_fill, tap_fill, fills[1, 2]}
    # a plain mask is class 0, as before
    assert page.evaluate(CELL_BACKGROUNDS_JS, "x")[0] == [transparent, transparent] + [
        window_fill] * 2
    legends = page.evaluate("""() => Array.from(document.querySelectorAll('#root [data-key]'),
        (b) => Array.from(b.querySelectorAll('.tconv-hl-key'), (k) => [k.textContent,
          getComputedStyle(k, '::before').backgroundColor]))""")
    assert legends == [[["window", window_fill], ["tap", tap_fill]], [],
                       [["window", window_fill], ["tap", tap_fill]]]
    # heat map: frames in the class colours, just inside the cell's edge
    frame = page.evaluate("""([i, j]) => {
        const canvas = document.querySelector('#root [data-key="h"] canvas');
        const ratio = canvas.width / canvas.getBoundingClientRect().width;
        const cw = canvas.width / 4, ch = canvas.height / 3;
        const px = canvas.getContext('2d').getImageData(
          Math.floor(j * cw + 1.5 * ratio), Math.floor((i + 0.5) * ch), 1, 1).data;
        return Array.from(px.slice(0, 3));
      }""", [1, 0])
    np.testing.assert_allclose(frame, [int(c) for c in HIGHLIGHT_RGB[0].split(",")], atol=40)
    assert not errors


def test_index_headers_show_offsets_and_labels(view_page):
    page, errors = view_page
    render(page, one_setting(
        vector("padded", [0, 1, 2, 3, 0], index=-1),
        matrix("W", np.eye(2, 3), row_index=["y0", "y1"], col_index=-1),
        matrix("plain", np.eye(2)),
    ), [0])
    headers = page.evaluate("""() => Array.from(document.querySelectorAll('#root [data-key]'),
        (b) => Array.from(b.querySelectorAll('th'), (th) => th.textContent))""")
    assert headers == [["\u22121", "0", "1", "2", "3"],
                       ["", "\u22121", "0", "1", "y0", "y1"],
                       []]
    assert table_numbers(read(page, "padded")).values.tolist() == [[0, 1, 2, 3, 0]]
    assert table_numbers(read(page, "W")).values.tolist() == np.eye(2, 3).tolist()
    assert not errors


def test_block_matrices_get_thicker_lines_between_blocks(view_page):
    page, errors = view_page
    render(page, one_setting(matrix("W", np.ones((4, 6)), block_shape=(2, 3)),
                             vector("x", np.ones(6), block_size=2)), [0])
    widths = page.evaluate("""(key) => Array.from(
        document.querySelectorAll(`#root [data-key="${key}"] tr`), (tr) =>
        Array.from(tr.querySelectorAll('td'), (td) => {
          const s = getComputedStyle(td);
          return [parseFloat(s.borderRightWidth), parseFloat(s.borderBottomWidth)];
        }))""", "W")
    right = np.array(widths)[..., 0]
    bottom = np.array(widths)[..., 1]
    thick = right.max()
    assert thick > 1.5 * right.min()
    assert (right == thick).tolist() == [[j == 2 for j in range(6)]] * 4
    assert (bottom == bottom.max()).tolist() == [[i == 1] * 6 for i in range(4)]
    assert bottom.max() > 1.5 * bottom.min()
    vector_right = np.array(page.evaluate("""() => Array.from(
        document.querySelectorAll('#root [data-key="x"] td'),
        (td) => parseFloat(getComputedStyle(td).borderRightWidth))"""))
    assert (vector_right == vector_right.max()).tolist() == [False, True, False, True, False,
                                                             False]
    assert not errors


def test_rows_put_blocks_side_by_side_on_a_line_of_their_own(view_page):
    page, errors = view_page
    table = precompute(lambda n: [vector("before", [n]),
                                  row(vector("a", [1, 2]), vector("b", [3, 4])),
                                  vector("after", [5])],
                       [Slider("n", "n", 0, 1, 0)])
    assert sum(b["kind"] == "row" for b in table["blocks"]) == 1  # rows are pooled too
    render(page, table, [1])
    boxes = page.evaluate("""() => Object.fromEntries(Array.from(
        document.querySelectorAll('#root [data-key]'), (b) => {
          const r = b.getBoundingClientRect();
          return [b.dataset.key, [r.left, r.top, r.bottom]];
        }))""")
    assert boxes["a"][1] == boxes["b"][1] and boxes["a"][0] < boxes["b"][0]  # side by side
    assert boxes["a"][1] >= boxes["before"][2]  # a row starts a line ...
    assert boxes["after"][1] >= max(boxes["a"][2], boxes["b"][2])  # ... and ends it
    assert table_numbers(read(page, "b")).values.tolist() == [[3, 4]]
    assert not errors


def test_plot_highlights_series_and_points(view_page):
    page, errors = view_page
    series = {"x": [0, 1, -2, 3], "y": [1.5, 0.5, 0, 1]}
    render(page, one_setting(plot("p", series, highlight={"x": True, "y": [1, 3]}, index=-1)),
           [0])
    drawn = page.evaluate("""() => {
        const svg = document.querySelector('#root [data-key="p"] svg');
        const groups = Object.fromEntries(Array.from(svg.querySelectorAll('g.tconv-series'),
          (g) => [g.dataset.series, [Array.from(g.classList), Number(getComputedStyle(g).opacity),
            Array.from(g.querySelectorAll('circle.tconv-point-hl'), (c) => c.getAttribute('cy')),
            Array.from(g.querySelectorAll('circle.tconv-point'), (c) => c.getAttribute('cy'))]]));
        const xTicks = Array.from(svg.querySelectorAll(':scope > text'), (t) => t.textContent);
        return {groups, xTicks};
      }""")
    x_classes, x_opacity, x_rings, _ = drawn["groups"]["x"]
    y_classes, y_opacity, y_rings, y_points = drawn["groups"]["y"]
    assert "tconv-series-hl" in x_classes and "tconv-series-dim" in y_classes
    assert y_opacity < x_opacity == 1
    assert x_rings == [] and y_rings == [y_points[1], y_points[3]]  # rings on those points
    assert drawn["xTicks"] == ["\u22121", "0", "1", "2"]
    assert not errors


def test_show_grid_draws_the_numbers_highlights_and_legend_as_the_view_does(view_page):
    page, errors = view_page
    W = np.array([[1.0, -2.5, 0.0], [1 / 3, 7.0, 12345.678]])
    tap = np.array([[True, False, False], [False, True, False]])
    page.evaluate("(html) => { document.getElementById('static').innerHTML = html; }",
                  grid_html(W, "W", {"tap": tap}, col_index=-1, block_shape=(1, 2)).data)
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('#static tr'), (tr) =>
        Array.from(tr.querySelectorAll('td'), (td) => [td.textContent,
          getComputedStyle(td).backgroundColor, parseFloat(getComputedStyle(td).borderRightWidth)]))
        .filter((row) => row.length)""")
    shown = np.array([[float(t.replace("\u2212", "-")) for t, _, _ in row] for row in cells])
    np.testing.assert_allclose(shown, W, rtol=5e-4)
    fills = np.array([[fill for _, fill, _ in row] for row in cells])
    assert (fills == rgba(HIGHLIGHT_RGB[0], 0.38)).tolist() == tap.tolist()
    widths = np.array([[w for _, _, w in row] for row in cells])
    assert (widths == widths.max()).tolist() == [[False, True, False]] * 2
    headers = page.evaluate(
        "() => Array.from(document.querySelectorAll('#static th'), (th) => th.textContent)")
    assert headers == ["\u22121", "0", "1"]
    assert "tap" in page.inner_text("#static")
    assert not errors
