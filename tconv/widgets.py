"""Sliders that work on a static page: precompute in Python, look up and draw in JS.

A chapter describes a derivation as a function of a few integer slider values that returns
a list of *blocks* (a matrix, a vector, a line plot, a caption). ``explorer`` calls that
function for every slider combination ahead of time, so all numbers still come from
numpy/torch, and the browser only looks up the selected entry and redraws it. Sliders are
ordinary ipywidgets tied to the view with ``jslink``, so no Python callback is needed and the
widget works unchanged in Jupyter and on the built site.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

__all__ = [
    "Slider", "explorer", "matrix", "vector", "heatmap", "plot", "text", "row", "key_for",
    "MAX_PARAMS", "MAX_HIGHLIGHT_CLASSES",
]

_HERE = Path(__file__).parent

# The most sliders one explorer takes. View gets one integer trait per slider (v0, v1, ...)
# from this number, and view.js listens to as many as the view's n_params says.
MAX_PARAMS = 8
# The colours of highlight classes, in order (a plain mask is class 0), as "r, g, b": view.js
# (synced as View.highlight_colours) and tconv.notebook.grid_html draw with these.
HIGHLIGHT_RGB = ("255, 176, 0", "31, 119, 180", "44, 160, 44", "148, 103, 189")
# How many named highlight classes one block can have, each in its own colour.
MAX_HIGHLIGHT_CLASSES = len(HIGHLIGHT_RGB)


@dataclass(frozen=True)
class Slider:
    """An integer slider: trait name, label shown to the reader, and its range."""

    name: str
    label: str
    min: int
    max: int
    value: int
    step: int = 1

    def values(self) -> range:
        return range(self.min, self.max + 1, self.step)


def _numbers(array) -> list:
    """JSON-safe nested lists; integers stay integers so the page shows ``7`` not ``7.0``."""
    a = np.asarray(array, dtype=float)
    rounded = np.round(a, 6)
    if np.all(rounded == np.round(rounded)):
        return rounded.astype(int).tolist()
    return rounded.tolist()


def _highlight(block: dict, highlight, shape: tuple[int, ...]) -> dict:
    """Add ``highlight`` to ``block``: a boolean mask, or ``{class name: mask}``.

    A plain mask becomes nested 0/1 lists (the original form). Named classes become one nested
    list of bit codes (bit c set: the cell is in class c, so a cell can be in several) plus
    ``"classes"``, the names in order, which view.js draws in distinct colours with a legend.
    """
    if highlight is None:
        return block
    named = isinstance(highlight, dict)
    masks = dict(highlight) if named else {"": highlight}
    if named and not 1 <= len(masks) <= MAX_HIGHLIGHT_CLASSES:
        raise ValueError(f"highlight takes 1 to {MAX_HIGHLIGHT_CLASSES} named masks, "
                         f"got {len(masks)}: {list(masks)}")
    codes = np.zeros(shape, dtype=int)
    for bit, (name, mask) in enumerate(masks.items()):
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != shape:
            what = f"highlight {name!r}" if named else "highlight"
            raise ValueError(f"{what} has shape {mask.shape}, the values {shape}")
        codes |= mask.astype(int) << bit
    block["highlight"] = codes.tolist()
    if named:
        block["classes"] = [str(name) for name in masks]
    return block


def _index(labels, length: int):
    """Index headers: an int is the first index (e.g. -p for a padded input), a sequence gives
    every label; stored as the int, or as a list of strings."""
    if isinstance(labels, (int, np.integer)):
        return int(labels)
    labels = [str(label) for label in labels]
    if len(labels) != length:
        raise ValueError(f"{len(labels)} index labels for {length} entries")
    return labels


def _keyed(block: dict, key: str | None) -> dict:
    """``key`` names the block for tests and readers of the page (``data-key``); it defaults to
    the title, so give one when the title changes with the sliders."""
    block["key"] = key if key is not None else block.get("title", "")
    return block


def matrix(
    title: str,
    array,
    highlight=None,
    row_label: str = "",
    col_label: str = "",
    key=None,
    *,
    row_index=None,
    col_index=None,
    block_shape: tuple[int, int] | None = None,
) -> dict:
    """A 2D array drawn as a table.

    ``highlight``: a boolean mask of cells to emphasise, or ``{name: mask}`` for up to
    ``MAX_HIGHLIGHT_CLASSES`` named classes drawn in distinct colours with a legend.
    ``row_label`` / ``col_label`` caption the axes and add 0-based index headers;
    ``row_index`` / ``col_index`` set those headers: the first index (an int) or every label.
    ``block_shape=(r, c)`` draws thicker lines every r rows and c columns, for block matrices
    (C_out × C_in blocks of Toeplitz bands).
    """
    values = np.atleast_2d(np.asarray(array, dtype=float))
    block = _keyed({"kind": "matrix", "title": title, "values": _numbers(values)}, key)
    _highlight(block, highlight, values.shape)
    if row_label or col_label:
        block["labels"] = [row_label, col_label]
    if row_index is not None:
        block["row_index"] = _index(row_index, values.shape[0])
    if col_index is not None:
        block["col_index"] = _index(col_index, values.shape[1])
    if block_shape is not None:
        block["grid"] = _block_shape(block_shape, 2)
    return block


def vector(
    title: str, array, highlight=None, key=None, *, index=None, block_size: int | None = None
) -> dict:
    """A 1D array drawn as a row of cells.

    ``highlight`` as for ``matrix``; ``index`` adds index headers above the cells: the first
    index (an int, e.g. ``-p``) or every label; ``block_size=n`` draws a thicker line every n
    entries (e.g. between the channels of a flattened C × n input).
    """
    values = np.ravel(np.asarray(array, dtype=float))
    block = _keyed({"kind": "vector", "title": title, "values": _numbers(values)}, key)
    if highlight is not None:
        if not isinstance(highlight, dict):
            highlight = np.ravel(highlight)
        _highlight(block, highlight, values.shape)
    if index is not None:
        block["index"] = _index(index, values.size)
    if block_size is not None:
        block["grid"] = _block_shape([block_size], 1)
    return block


def _block_shape(shape, dims: int) -> list[int]:
    sizes = [int(n) for n in shape]
    if len(sizes) != dims or min(sizes) < 1:
        raise ValueError(f"block shape must be {dims} positive sizes, got {shape!r}")
    return sizes


def heatmap(title: str, array, highlight=None, show_values: bool = True, key=None) -> dict:
    """A 2D array drawn as coloured cells (blue positive, red negative), e.g. overlap counts.

    ``highlight`` as for ``matrix``: highlighted cells get a frame in their class's colour.
    """
    values = np.atleast_2d(np.asarray(array, dtype=float))
    block = _keyed({"kind": "heatmap", "title": title, "values": _numbers(values),
                    "show_values": bool(show_values)}, key)
    return _highlight(block, highlight, values.shape)


def plot(
    title: str,
    series: dict[str, Sequence[float]],
    style: str = "line",
    key=None,
    *,
    highlight: dict | None = None,
    index: int = 0,
) -> dict:
    """One or more named series against their index, drawn as SVG: ``style`` "line" or "stem".

    ``highlight`` emphasises series or points: ``{name: True}`` for a whole series (the others
    are dimmed), ``{name: [i, ...]}`` (indices, or a boolean mask) for single points, which get
    a ring. ``index`` is the x label of the first point (e.g. ``-p``).
    """
    if style not in ("line", "stem"):
        raise ValueError(f"plot style must be 'line' or 'stem', got {style!r}")
    block = _keyed({"kind": "plot", "title": title, "style": style,
                    "series": {k: _numbers(np.ravel(v)) for k, v in series.items()}}, key)
    if highlight:
        block["highlight"] = {name: _emphasis(block["series"], name, which)
                              for name, which in highlight.items()}
    if index:
        block["index"] = int(index)
    return block


def _emphasis(series: dict, name: str, which) -> int | list[int]:
    """1 for a whole series, else the sorted indices of its highlighted points."""
    if name not in series:
        raise ValueError(f"highlight names series {name!r}; the plot has {list(series)}")
    if which is True:
        return 1
    which = np.asarray(which)
    length = len(series[name])
    points = np.flatnonzero(which) if which.dtype == bool else which.astype(int).ravel()
    if which.dtype == bool and which.size != length:
        raise ValueError(f"highlight mask of {which.size} for series {name!r} of {length}")
    if points.size and (points.min() < 0 or points.max() >= length):
        raise ValueError(f"highlighted points {points.tolist()} outside series {name!r} "
                         f"of length {length}")
    return sorted(set(points.tolist()))


def text(message: str, key=None) -> dict:
    """A caption (plain text; the numbers in it should come from code). ``key`` lets a test
    find it (``data-key``)."""
    block = {"kind": "text", "text": message}
    if key is not None:
        block["key"] = key
    return block


def row(*blocks: dict) -> dict:
    """Blocks side by side, on a line of their own (a row of one block stands alone).

    Without rows, blocks flow: each goes beside the previous one while it fits.
    """
    if not blocks or any(b.get("kind") in (None, "row") for b in blocks):
        raise ValueError("row takes one or more blocks (not rows)")
    return {"kind": "row", "blocks": list(blocks)}


def key_for(values: Sequence[int]) -> str:
    """The lookup key of one slider combination, shared with the JS side."""
    return ",".join(str(int(v)) for v in values)


class _ViewBase(anywidget.AnyWidget):
    _esm = _HERE / "view.js"
    _css = _HERE / "view.css"
    table = traitlets.Dict().tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)  # unique on the site, e.g. "ch01-sliding-window"
    params = traitlets.List(traitlets.Unicode()).tag(sync=True)  # slider names, in order
    n_params = traitlets.Int(0).tag(sync=True)  # view.js listens to v0 … v{n_params - 1}
    highlight_colours = traitlets.List(traitlets.Unicode(), list(HIGHLIGHT_RGB)).tag(sync=True)


# One integer trait per possible slider, v0 … v{MAX_PARAMS - 1}, made from MAX_PARAMS.
View = type("View", (_ViewBase,), {
    "__doc__": "Draws the precomputed entry selected by the integer traits v0, v1, ...",
    "__module__": __name__,
    **{f"v{i}": traitlets.Int(0).tag(sync=True) for i in range(MAX_PARAMS)},
})


def precompute(compute: Callable[..., list[dict]], sliders: Sequence[Slider]) -> dict:
    """Call ``compute(**values)`` for every slider combination; key the results by value.

    Returns ``{"blocks": [...], "entries": {key: [block index, ...]}}``: a block that several
    combinations share (an input vector, an unchanged kernel) is stored once, which keeps the
    page small.
    """
    if len(sliders) > MAX_PARAMS:
        raise ValueError(f"at most {MAX_PARAMS} sliders per explorer, got {len(sliders)}")
    blocks: list[dict] = []
    index_of: dict[str, int] = {}
    entries = {}
    for combo in itertools.product(*(s.values() for s in sliders)):
        result = compute(**{s.name: v for s, v in zip(sliders, combo, strict=True)})
        entries[key_for(combo)] = [_pooled(block, blocks, index_of) for block in result]
    return {"blocks": blocks, "entries": entries}


def _pooled(block: dict, blocks: list[dict], index_of: dict[str, int]) -> int:
    """The index of ``block`` in ``blocks``, appending it the first time it is seen.

    A row is stored as the indices of its blocks (``items``), so they are shared too.
    """
    if block.get("kind") == "row":
        block = {"kind": "row", "items": [_pooled(b, blocks, index_of) for b in block["blocks"]]}
    fingerprint = json.dumps(block, sort_keys=True)
    if fingerprint not in index_of:
        index_of[fingerprint] = len(blocks)
        blocks.append(block)
    return index_of[fingerprint]


def _unpooled(table: dict, index: int) -> dict:
    block = table["blocks"][index]
    if block.get("kind") == "row":
        return row(*(_unpooled(table, i) for i in block["items"]))
    return block


def entry(table: dict, values: Sequence[int]) -> list[dict]:
    """The blocks shown for one slider combination (what the JS side looks up)."""
    return [_unpooled(table, i) for i in table["entries"][key_for(values)]]


def explorer(
    compute: Callable[..., list[dict]],
    sliders: Sequence[Slider],
    *,
    name: str,
    max_bytes=400_000,
):
    """Sliders plus a view; every interaction happens in the browser.

    ``compute`` receives one keyword per slider and returns a list of blocks. The whole table
    is embedded in the page, so it is kept well under 1 MB per widget (``max_bytes``).
    ``name`` identifies the explorer on the site (``data-explorer``), e.g. for the tests that
    compare what it shows with torch: ``"chNN-topic"``, unique across the book.
    """
    if not re.fullmatch(r"ch\d\d-[a-z0-9-]+", name):
        raise ValueError(f"explorer name must look like 'ch01-sliding-window', got {name!r}")
    table = precompute(compute, sliders)
    size = len(json.dumps(table, separators=(",", ":")))
    if size > max_bytes:
        raise ValueError(f"explorer table is {size} bytes, over the {max_bytes} byte budget")
    view = View(table=table, n_params=len(sliders), name=name, params=[s.name for s in sliders])
    controls = []
    for i, s in enumerate(sliders):
        slider = widgets.IntSlider(
            value=s.value, min=s.min, max=s.max, step=s.step, description=s.label,
            continuous_update=True, style={"description_width": "initial"},
        )
        setattr(view, f"v{i}", s.value)
        widgets.jslink((slider, "value"), (view, f"v{i}"))
        controls.append(slider)
    return widgets.VBox([widgets.HBox(controls, layout={"flex_flow": "row wrap"}), view])
