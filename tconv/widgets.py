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

__all__ = ["Slider", "explorer", "matrix", "vector", "heatmap", "plot", "text", "key_for"]

_HERE = Path(__file__).parent


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


def _mask(highlight) -> list:
    """A boolean mask as nested 0/1 lists, the form the JS side reads."""
    return np.asarray(highlight, dtype=bool).astype(int).tolist()


def _keyed(block: dict, key: str | None) -> dict:
    """``key`` names the block for tests and readers of the page (``data-key``); it defaults to
    the title, so give one when the title changes with the sliders."""
    block["key"] = key if key is not None else block.get("title", "")
    return block


def matrix(
    title: str, array, highlight=None, row_label: str = "", col_label: str = "", key=None
) -> dict:
    """A 2D array drawn as a table; ``highlight`` is a boolean mask of cells to emphasise."""
    block = _keyed({"kind": "matrix", "title": title, "values": _numbers(array)}, key)
    if highlight is not None:
        block["highlight"] = _mask(highlight)
    if row_label or col_label:
        block["labels"] = [row_label, col_label]
    return block


def vector(title: str, array, highlight=None, key=None) -> dict:
    """A 1D array drawn as a row of cells."""
    block = _keyed({"kind": "vector", "title": title, "values": _numbers(np.ravel(array))}, key)
    if highlight is not None:
        block["highlight"] = _mask(np.ravel(highlight))
    return block


def heatmap(title: str, array, highlight=None, show_values: bool = True, key=None) -> dict:
    """A 2D array drawn as coloured cells (blue positive, red negative), e.g. overlap counts."""
    block = _keyed({"kind": "heatmap", "title": title, "values": _numbers(array),
                    "show_values": bool(show_values)}, key)
    if highlight is not None:
        block["highlight"] = _mask(highlight)
    return block


def plot(
    title: str, series: dict[str, Sequence[float]], style: str = "line", key=None
) -> dict:
    """One or more named series against their index, drawn as SVG: ``style`` "line" or "stem"."""
    if style not in ("line", "stem"):
        raise ValueError(f"plot style must be 'line' or 'stem', got {style!r}")
    return _keyed({"kind": "plot", "title": title, "style": style,
                   "series": {k: _numbers(np.ravel(v)) for k, v in series.items()}}, key)


def text(message: str) -> dict:
    """A caption (plain text; the numbers in it should come from code)."""
    return {"kind": "text", "text": message}


def key_for(values: Sequence[int]) -> str:
    """The lookup key of one slider combination, shared with the JS side."""
    return ",".join(str(int(v)) for v in values)


class View(anywidget.AnyWidget):
    """Draws the precomputed entry selected by the integer traits ``v0 … v7``."""

    _esm = _HERE / "view.js"
    _css = _HERE / "view.css"
    table = traitlets.Dict().tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)  # unique on the site, e.g. "ch01-sliding-window"
    params = traitlets.List(traitlets.Unicode()).tag(sync=True)  # slider names, in order
    n_params = traitlets.Int(0).tag(sync=True)
    v0 = traitlets.Int(0).tag(sync=True)
    v1 = traitlets.Int(0).tag(sync=True)
    v2 = traitlets.Int(0).tag(sync=True)
    v3 = traitlets.Int(0).tag(sync=True)
    v4 = traitlets.Int(0).tag(sync=True)
    v5 = traitlets.Int(0).tag(sync=True)
    v6 = traitlets.Int(0).tag(sync=True)
    v7 = traitlets.Int(0).tag(sync=True)


MAX_PARAMS = 8


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
    """The index of ``block`` in ``blocks``, appending it the first time it is seen."""
    fingerprint = json.dumps(block, sort_keys=True)
    if fingerprint not in index_of:
        index_of[fingerprint] = len(blocks)
        blocks.append(block)
    return index_of[fingerprint]


def entry(table: dict, values: Sequence[int]) -> list[dict]:
    """The blocks shown for one slider combination (what the JS side looks up)."""
    return [table["blocks"][i] for i in table["entries"][key_for(values)]]


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
