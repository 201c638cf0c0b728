"""The kernel-free explorer's Python side: every slider setting precomputed, looked up intact."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from site_browser import toc_pages

from tconv.widgets import (
    Slider,
    entry,
    explorer,
    heatmap,
    matrix,
    plot,
    precompute,
    text,
    vector,
)

STATE_BUDGET_BYTES = 1_000_000  # per page, all widgets together
WIDGET_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)


def shifted_kernel(n, k, s):
    """A small computation whose blocks repeat across settings (the input never changes)."""
    W = np.zeros((n, n + k))
    for i in range(n):
        W[i, i * s % n : i * s % n + k] = np.arange(1, k + 1)
    return [matrix("W", W, highlight=W != 0), vector("x", np.arange(n)), text(f"k={k}")]


sliders_strategy = st.lists(
    st.tuples(st.integers(-3, 3), st.integers(0, 3), st.integers(1, 2)), min_size=1, max_size=3
)


@settings(max_examples=30, deadline=None)
@given(sliders_strategy)
def test_every_combination_is_precomputed_and_decodes_to_what_compute_returned(spec):
    sliders = [Slider(f"p{i}", f"p{i}", lo, lo + span * step, lo, step)
               for i, (lo, span, step) in enumerate(spec)]

    def compute(**values):
        ordered = [values[s.name] for s in sliders]
        return [vector("values", ordered), text(f"sum {sum(ordered)}"), vector("same", [1, 2])]

    table = precompute(compute, sliders)
    combos = list(itertools.product(*(s.values() for s in sliders)))
    assert len(table["entries"]) == len(combos)
    for combo in combos:
        values = {s.name: v for s, v in zip(sliders, combo, strict=True)}
        assert entry(table, combo) == compute(**values)
    # the block every setting shares is stored once
    assert sum(b["title"] == "same" for b in table["blocks"] if "title" in b) == 1


def test_shared_blocks_make_the_table_smaller_than_the_entries_it_encodes():
    sliders = [Slider("n", "n", 3, 6, 4), Slider("k", "k", 1, 3, 2), Slider("s", "s", 1, 2, 1)]
    table = precompute(shifted_kernel, sliders)
    expanded = {key: entry(table, map(int, key.split(","))) for key in table["entries"]}
    assert len(json.dumps(table)) < len(json.dumps(expanded))


def test_explorer_refuses_a_table_over_its_byte_budget():
    with pytest.raises(ValueError, match="byte budget"):
        explorer(lambda n: [vector("big", np.arange(2000) + n)], [Slider("n", "n", 0, 50, 0)],
                 name="ch00-budget", max_bytes=100_000)


def test_block_builders_reject_nonsense_and_keep_integers_integral():
    assert plot("p", {"a": [1.0, 2.0]})["series"]["a"] == [1, 2]
    assert plot("p", {"a": [0.5]}, style="stem")["style"] == "stem"
    with pytest.raises(ValueError):
        plot("p", {"a": [1]}, style="bars")
    assert heatmap("h", [[1, -1]], highlight=[[True, False]])["highlight"] == [[1, 0]]


@pytest.mark.slow
@pytest.mark.parametrize("page_path", toc_pages(Path(__file__).resolve().parents[2]))
def test_each_page_keeps_its_widget_state_under_a_megabyte(built_site, page_path):
    html = (built_site / page_path).read_text(encoding="utf-8")
    size = sum(len(state.encode()) for state in WIDGET_STATE.findall(html))
    assert size < STATE_BUDGET_BYTES, f"{page_path}: widget state is {size} bytes"
