"""Read back what an explorer's view (tconv/view.js) has drawn, as numbers.

Shared by tests/book/test_view_js.py (view.js against tables made in Python) and the explorer
oracle check (the site's explorers against torch). Nothing here reads the table the view was
given: tables are read from their cells' text, heat maps from the text and colours painted on
the canvas, plots from the positions of the SVG's points against its drawn tick labels.

The tolerances say how precisely each drawing shows a number:

- ``TABLE_RTOL``/``TABLE_ATOL``: view.js prints 4 significant digits (at most half a unit of the
  4th digit off, 5e-4 relative), of a number Python rounded to 6 decimals (5e-7 absolute).
- ``HEATMAP_TEXT``: the same, for the numbers painted in heat-map cells.
- ``HEATMAP_SHADE_TOL``: a cell's shade is its value over the map's largest |value|, as an
  opacity of 0.85 at most in 8 bits: read back within 0.01 of that largest |value|.
- ``PLOT_TOL``: a point is placed exactly, but read against tick labels printed to 4 digits:
  within 1e-3 of the largest |value| the plot shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TABLE_RTOL, TABLE_ATOL = 5e-4, 1e-6
HEATMAP_SHADE_TOL = 0.01
PLOT_TOL = 1e-3
# view.js shades positive heat-map values blue, negative red, with opacity 0.85·|v|/max|v|.
HEAT_POSITIVE_RGB, HEAT_NEGATIVE_RGB, HEAT_MAX_OPACITY = (31, 119, 180), (214, 39, 40), 0.85

# An init script (before any page script): every canvas remembers the text painted on it and
# where, in canvas pixels, so a test can read what a heat map shows.
RECORD_CANVAS_TEXT_JS = """
(() => {
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
    const at = this.getTransform().transformPoint(new DOMPoint(x, y));
    (this.canvas.__tconvText = this.canvas.__tconvText || []).push([String(text), at.x, at.y]);
    return fillText.call(this, text, x, y, ...rest);
  };
})();
"""

# What the block with data-key `key` inside `view` draws. Returns {count} when there is not
# exactly one such block, else {kind, text, ...} with, per kind:
# - table (matrix, vector): `cells`, the text of each row's data cells;
# - heatmap: `rows`, `columns` (from its label), `text` [[text, row, column]] painted in the
#   cells, `shades` [[r, g, b]] per cell on a white ground (sampled away from text and frames);
# - plot: `ticks` [[label, y]], `series` {name: [y of each point]}.
READ_BLOCK_JS = """
([view, key]) => {
  const found = Array.from(view.querySelectorAll('[data-key]'))
    .filter((b) => b.dataset.key === key);
  if (found.length !== 1) return {count: found.length};
  const block = found[0];
  const reading = {count: 1, text: block.textContent};
  const canvas = block.querySelector('canvas.tconv-heatmap');
  const svg = block.querySelector('svg.tconv-plot');
  const table = block.querySelector('table.tconv-matrix');
  if (canvas) {
    const size = canvas.getAttribute('aria-label').match(/^(\\d+) by (\\d+)/) || [0, 0, 0];
    const [rows, columns] = size.slice(1).map(Number);
    const cellW = canvas.width / Math.max(columns, 1), cellH = canvas.height / Math.max(rows, 1);
    const ground = document.createElement('canvas');
    ground.width = canvas.width;
    ground.height = canvas.height;
    const g = ground.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, ground.width, ground.height);
    g.drawImage(canvas, 0, 0);
    const ratio = canvas.width / canvas.getBoundingClientRect().width || 1;
    // Away from the text (centred) and the highlight frames (inside each cell's edge).
    const sampleY = canvas.__tconvText ? 3.5 * ratio : cellH / 2;
    const shades = [];
    for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) {
      const px = g.getImageData(Math.floor((j + 0.5) * cellW), Math.floor(i * cellH + sampleY),
        1, 1).data;
      shades.push([px[0], px[1], px[2]]);
    }
    Object.assign(reading, {
      kind: 'heatmap', rows, columns, shades,
      text: (canvas.__tconvText || []).map(([t, x, y]) =>
        [t, Math.floor(y / cellH), Math.floor(x / cellW)]),
    });
  } else if (svg) {
    const ticks = Array.from(svg.querySelectorAll('g.tconv-ytick'), (tick) => [
      tick.querySelector('text').textContent,
      Number(tick.querySelector('line').getAttribute('y1')),
    ]);
    const series = {};
    svg.querySelectorAll('g.tconv-series').forEach((group) => {
      series[group.dataset.series] = Array.from(group.querySelectorAll('circle.tconv-point'),
        (point) => Number(point.getAttribute('cy')));
    });
    Object.assign(reading, {kind: 'plot', ticks, series});
  } else if (table) {
    reading.kind = 'table';
    reading.cells = Array.from(table.querySelectorAll('tr'),
      (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent))
      .filter((row) => row.length);
  } else {
    reading.kind = 'text';
  }
  return reading;
}
"""


def number(text: str) -> float:
    """A number as view.js prints it (a real minus sign)."""
    return float(text.replace("\u2212", "-"))


@dataclass
class Drawn:
    """Numbers read from a drawing, with how far from the truth they may be."""

    values: np.ndarray
    rtol: float
    atol: float


def table_numbers(reading: dict) -> Drawn:
    return Drawn(np.array([[number(t) for t in row] for row in reading["cells"]]),
                 TABLE_RTOL, TABLE_ATOL)


def heatmap_numbers(reading: dict, scale: float) -> Drawn:
    """The painted numbers when the cells show them (each cell exactly one), else the values
    the shades encode, given the largest |value| ``scale`` the colours are relative to."""
    rows, columns = reading["rows"], reading["columns"]
    if reading["text"]:
        texts: dict[tuple[int, int], list[str]] = {}
        for text, i, j in reading["text"]:
            texts.setdefault((i, j), []).append(text)
        cells = [[texts.get((i, j), []) for j in range(columns)] for i in range(rows)]
        if any(len(c) != 1 for row in cells for c in row) or len(texts) != rows * columns:
            raise AssertionError(f"heat map text is not one number per cell: {cells}")
        values = np.array([[number(c[0]) for c in row] for row in cells])
        return Drawn(values.reshape(rows, columns), TABLE_RTOL, TABLE_ATOL)
    shades = np.array(reading["shades"], dtype=float).reshape(rows, columns, 3)
    return Drawn(shade_values(shades) * scale, 0.0, HEATMAP_SHADE_TOL * scale)


def shade_values(shades: np.ndarray) -> np.ndarray:
    """Value / largest |value| of heat-map cells from their colour on a white ground."""
    red, blue = shades[..., 0], shades[..., 2]
    positive = blue >= red
    opacity = np.where(positive, (255 - red) / (255 - HEAT_POSITIVE_RGB[0]),
                       (255 - blue) / (255 - HEAT_NEGATIVE_RGB[2]))
    return np.where(positive, 1, -1) * opacity / HEAT_MAX_OPACITY


def plot_numbers(reading: dict) -> dict[str, Drawn]:
    """Each series' values, from its points' heights against the drawn y tick labels."""
    ticks = sorted({(number(label), y) for label, y in reading["ticks"]})
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    span = max(abs(v0), abs(v1)) or 1.0

    def value(y: float) -> float:
        if len(ticks) == 1:  # all values are the one tick's (all zero): on its line or not
            return v0 if abs(y - y0) < 1e-6 else np.nan
        return v0 + (y - y0) * (v1 - v0) / (y1 - y0)

    return {name: Drawn(np.array([value(y) for y in ys]), 0.0, PLOT_TOL * span)
            for name, ys in reading["series"].items()}
