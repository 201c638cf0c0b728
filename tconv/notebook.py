"""Notebook conveniences that must work on the built site *and* on Binder, Colab or a hub.

``myst_nb.glue`` puts a computed value into the chapter's prose at build time, but myst-nb is a
build tool that students' kernels do not have. This ``glue`` uses it when it is there and
otherwise just shows the value, so a chapter opened from a launch button still runs.

``show_grid`` prints a matrix or vector as a grid of cells (static HTML with inline styles, so
it looks the same on the site, in JupyterLab and on Colab), drawn like an explorer's blocks.
"""

from __future__ import annotations

import html

import numpy as np
from IPython.display import HTML, display

from tconv.widgets import HIGHLIGHT_RGB, matrix, vector

__all__ = ["glue", "show_grid", "grid_html"]


def glue(name: str, value, display_value: bool = True) -> None:
    """Register ``value`` under ``name`` for ``{glue}`` roles when building the book."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # a student's kernel: there is no book to glue into
        if display_value:
            display(value)
        return
    myst_glue(name, value, display=display_value)


def show_grid(array, title: str = "", highlight=None, **options) -> None:
    """Display ``array`` (1D or 2D) as a grid of cells; arguments as for ``grid_html``."""
    display(grid_html(array, title, highlight, **options))


def grid_html(
    array, title: str = "", highlight=None, *, row_index=None, col_index=None,
    block_shape=None,
) -> HTML:
    """A matrix or vector as a static HTML grid (what ``show_grid`` displays; glue it to place
    it in the prose).

    The options are those of ``tconv.widgets.matrix`` / ``vector``: ``highlight`` a boolean mask
    or ``{name: mask}`` (distinct colours and a legend); ``row_index`` / ``col_index`` (for a
    vector: ``col_index``) the first index or every label of the headers; ``block_shape``
    ``(r, c)`` (for a vector: ``(n,)``) thicker lines between blocks. Numbers are shown to 4
    significant digits, integers as integers.
    """
    values = np.asarray(array, dtype=float)
    if values.ndim == 1:  # one row, with the column headers and blocks of a vector
        block = vector(title, values, highlight, index=col_index,
                       block_size=None if block_shape is None else _single(block_shape))
        rows = [block["values"]]
        codes = [block["highlight"]] if "highlight" in block else None
        row_labels, column_labels = None, block.get("index")
        grid = [0, *block.get("grid", [0])]
    elif values.ndim == 2:
        block = matrix(title, values, highlight, row_index=row_index, col_index=col_index,
                       block_shape=block_shape)
        rows, codes = block["values"], block.get("highlight")
        row_labels, column_labels = block.get("row_index"), block.get("col_index")
        grid = block.get("grid", [0, 0])
    else:
        raise ValueError(f"show_grid draws vectors and matrices, got shape {values.shape}")
    columns = len(rows[0]) if rows else 0
    table = _table(rows, codes, _labels(row_labels, len(rows)), _labels(column_labels, columns),
                   grid)
    caption = f'<div style="{_TITLE}">{html.escape(title)}</div>' if title else ""
    legend = _legend(block.get("classes"))
    return HTML(f'<div class="tconv-grid" style="margin:0.5em 0">{caption}{table}{legend}</div>')


# Inline styles (no stylesheet reaches a Colab output); colours are translucent so the grid
# reads on light and dark backgrounds.
_TITLE = "font-weight:600;font-size:0.9em;margin:0 0 0.3em"
_TABLE = ("border-collapse:collapse;font-family:monospace;font-size:0.85em;"
          "font-variant-numeric:tabular-nums;width:auto;margin:0")
_CELL = ("border:1px solid rgba(128,128,128,0.45);padding:0.15em 0.4em;min-width:1.8em;"
         "text-align:right;line-height:1.3")
_HEADER = ("border:none;opacity:0.6;font-weight:normal;font-size:0.85em;text-align:center;"
           "padding:0 0.3em")
_SEPARATOR = "2.5px solid rgba(128,128,128,0.95)"


def _single(block_shape) -> int:
    (size,) = np.ravel(block_shape)
    return int(size)


def format_number(value: float) -> str:
    """As view.js shows a number: 4 significant digits, integers without ".0", a real minus."""
    rounded = float(f"{value:.4g}")
    text = str(int(rounded)) if rounded.is_integer() else repr(rounded)
    return text.replace("-", "\u2212")


def _labels(index, count: int) -> list[str] | None:
    if index is None:
        return None
    if isinstance(index, list):
        return index
    return [format_number(index + j) for j in range(count)]


def _fill(code: int) -> str:
    """The background of a highlighted cell: its class's colour, a stripe of each if several."""
    classes = [c for c in range(len(HIGHLIGHT_RGB)) if code >> c & 1]
    fills = [f"rgba({HIGHLIGHT_RGB[c]},0.38)" for c in classes]
    if len(fills) == 1:
        return f"background:{fills[0]};font-weight:600"
    stops = ", ".join(f"{fill} {100 * n / len(fills):g}% {100 * (n + 1) / len(fills):g}%"
                      for n, fill in enumerate(fills))
    return f"background:linear-gradient(135deg, {stops});font-weight:600"


def _table(rows, codes, row_labels, column_labels, grid) -> str:
    block_rows, block_columns = grid
    n_rows, n_columns = len(rows), len(rows[0]) if rows else 0
    lines = [f'<table style="{_TABLE}">']
    if column_labels is not None:
        corner = f'<th style="{_HEADER}"></th>' if row_labels is not None else ""
        lines.append("<tr>" + corner + "".join(
            f'<th style="{_HEADER}">{html.escape(label)}</th>' for label in column_labels)
            + "</tr>")
    for i, values in enumerate(rows):
        cells = [] if row_labels is None else [
            f'<th style="{_HEADER}">{html.escape(row_labels[i])}</th>']
        for j, value in enumerate(values):
            style = [_CELL]
            if value == 0:
                style.append("color:rgba(128,128,128,0.9)")
            code = codes[i][j] if codes else 0
            if code:
                style.append(_fill(code))
            if block_columns and (j + 1) % block_columns == 0 and j + 1 < n_columns:
                style.append(f"border-right:{_SEPARATOR}")
            if block_rows and (i + 1) % block_rows == 0 and i + 1 < n_rows:
                style.append(f"border-bottom:{_SEPARATOR}")
            marker = ' class="tconv-hl"' if code else ""
            cells.append(f'<td{marker} style="{";".join(style)}">{format_number(value)}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "".join(lines)


def _legend(classes) -> str:
    if not classes:
        return ""
    items = "".join(
        f'<span style="margin-right:1em"><span style="display:inline-block;width:0.9em;'
        f'height:0.9em;margin-right:0.3em;vertical-align:-0.1em;'
        f'border:1px solid rgba(128,128,128,0.45);{_fill(1 << c).split(";")[0]}"></span>'
        f"{html.escape(name)}</span>"
        for c, name in enumerate(classes))
    return f'<div style="font-size:0.8em;margin-top:0.25em">{items}</div>'
