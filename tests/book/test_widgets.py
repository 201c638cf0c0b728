"""The kernel-free explorer's Python side: every slider setting precomputed, looked up intact."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tconv.notebook import grid_html
from tconv.widgets import (
    MAX_HIGHLIGHT_CLASSES,
    Slider,
    entry,
    explorer,
    heatmap,
    matrix,
    plot,
    precompute,
    row,
    text,
    vector,
)


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
        return [vector("values", ordered), text(f"sum {sum(ordered)}"), vector("same", [1, 2]),
                row(vector("first", ordered[:1]), text("beside", key="caption"))]

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


def test_named_highlights_are_bit_codes_and_a_plain_mask_stays_zero_one():
    window = np.array([[1, 1, 0], [0, 1, 1]], bool)
    tap = np.array([[0, 1, 0], [0, 0, 1]], bool)
    block = matrix("W", np.ones((2, 3)), highlight={"window": window, "tap": tap})
    assert block["highlight"] == [[1, 3, 0], [0, 1, 3]] and block["classes"] == ["window", "tap"]
    assert "classes" not in matrix("W", np.ones((2, 3)), highlight=window)
    assert matrix("W", np.ones((2, 3)), highlight=window)["highlight"] == [[1, 1, 0], [0, 1, 1]]
    assert vector("x", [1, 2], highlight={"a": [True, False]})["highlight"] == [1, 0]
    with pytest.raises(ValueError, match=r"highlight 'tap' has shape \(3,\)"):
        matrix("W", np.ones((2, 3)), highlight={"tap": [1, 0, 1]})
    with pytest.raises(ValueError, match="highlight has shape"):
        vector("x", [1, 2, 3], highlight=[True])
    too_many = {f"c{i}": window for i in range(MAX_HIGHLIGHT_CLASSES + 1)}
    with pytest.raises(ValueError, match="named masks"):
        heatmap("h", np.ones((2, 3)), highlight=too_many)


def test_index_headers_block_shapes_and_plot_highlights_are_checked():
    assert vector("x", [1, 2, 3], index=-1)["index"] == -1
    assert matrix("W", np.ones((2, 2)), row_index=["a", "b"], col_index=np.int64(3))[
        "row_index"] == ["a", "b"]
    with pytest.raises(ValueError, match="3 index labels for 2"):
        matrix("W", np.ones((2, 2)), col_index=["a", "b", "c"])
    assert matrix("W", np.ones((4, 6)), block_shape=(2, 3))["grid"] == [2, 3]
    assert vector("x", np.ones(6), block_size=3)["grid"] == [3]
    with pytest.raises(ValueError, match="block shape"):
        matrix("W", np.ones((4, 6)), block_shape=(2,))
    series = {"a": [1, 2, 3], "b": [0, 0, 1]}
    assert plot("p", series, highlight={"a": True, "b": [2, 0]})["highlight"] == {
        "a": 1, "b": [0, 2]}
    assert plot("p", series, highlight={"b": np.array([0, 1, 1], bool)})["highlight"] == {
        "b": [1, 2]}
    with pytest.raises(ValueError, match="series 'c'"):
        plot("p", series, highlight={"c": True})
    with pytest.raises(ValueError, match="outside series 'a'"):
        plot("p", series, highlight={"a": [3]})
    with pytest.raises(ValueError, match="not rows"):
        row(row(text("x")))
    assert text("t", key="caption")["key"] == "caption" and "key" not in text("t")


def test_grid_html_draws_vectors_and_matrices_only():
    html = grid_html(np.array([0.5, -2, 3]), "x", highlight=[False, True, False],
                     col_index=-1).data
    assert html.count("<td") == 3 and "\u22122" in html and ">\u22121</th>" in html
    assert html.count('class="tconv-hl"') == 1
    with pytest.raises(ValueError, match="vectors and matrices"):
        grid_html(np.ones((2, 2, 2)))
