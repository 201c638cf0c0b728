"""The explorer oracles themselves (tests/book/oracles/), without a browser: they load, name
explorers the way the book does, sit in their chapter's module, and compare as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from explorer_oracle import (
    ORACLES_DIR,
    Oracle,
    OracleError,
    compare_block,
    keys_to,
    oracles_by_module,
)

from testkit.site import toc_pages

REPO = Path(__file__).resolve().parents[2]


def test_every_oracle_module_belongs_to_a_page_and_names_its_chapters_explorers():
    pages = {Path(page).stem for page in toc_pages(REPO)}
    modules = oracles_by_module()
    assert modules, f"no oracle modules in {ORACLES_DIR}"
    for stem, oracles in modules.items():
        assert stem in pages, f"oracles/{stem}.py: no page {stem} in _toc.yml"
        for oracle in oracles:
            assert oracle.name.startswith(f"ch{stem[:2]}-"), (
                f"oracles/{stem}.py: {oracle.name} is not an explorer of chapter {stem[:2]}")
    names = [o.name for oracles in modules.values() for o in oracles]
    assert len(names) == len(set(names)), f"explorers with two oracles: {names}"


def test_a_malformed_oracle_module_is_refused_with_its_file_named(tmp_path):
    (tmp_path / "01_x.py").write_text(
        "from explorer_oracle import Oracle\n"
        "ORACLES = [Oracle('ch01-x', settings=[{'n': 1.5}], expected=lambda n: {})]\n")
    with pytest.raises(OracleError, match=r"01_x\.py: ch01-x: a setting must map"):
        oracles_by_module(tmp_path)


def test_expected_receives_the_slider_values_its_signature_names():
    oracle = Oracle("ch01-x", [{}], expected=lambda n: {"n": n})
    assert oracle.expected_at({"n": 3, "k": 2}) == {"n": 3}
    everything = Oracle("ch01-x", [{}], expected=lambda **values: values)
    assert everything.expected_at({"n": 3, "k": 2}) == {"n": 3, "k": 2}


@pytest.mark.parametrize("current, target, keys", [
    (3, 5, ["ArrowRight"] * 2),
    (5, 1, ["Home"]),
    (2, 9, ["End"]),
    (8, 2, ["Home", "ArrowRight"]),
    (4, 4, []),
])
def test_sliders_are_driven_with_the_fewest_key_presses(current, target, keys):
    assert keys_to(current, target, low=1, high=9) == keys


def table(*rows):
    return {"count": 1, "kind": "table", "text": "", "cells": [list(r) for r in rows]}


def test_numbers_compare_within_the_four_digits_shown_and_name_the_largest_difference():
    assert compare_block([1 / 3, -2.0], table(["0.3333", "\u22122"])) is None
    problem = compare_block([1 / 3, -2.0], table(["0.3333", "\u22122.01"]))
    assert "largest difference 0.01" in problem and "at index (1,)" in problem
    assert "shape" in compare_block([[1, 2]], table(["1", "2", "3"]))
    assert compare_block("p' = 1", {"count": 1, "kind": "text", "text": "so p' = 1."}) is None
    assert "does not contain" in compare_block("p' = 2",
                                               {"count": 1, "kind": "text", "text": "p' = 1"})


def test_plots_compare_each_series_by_name():
    reading = {"count": 1, "kind": "plot", "text": "",
               "ticks": [["0", 100.0], ["4", 20.0]], "series": {"a": [100.0, 60.0, 20.0]}}
    assert compare_block([0, 2, 4], reading) is None
    assert compare_block({"a": np.array([0, 2, 4])}, reading) is None
    assert "series 'a'" in compare_block({"a": [0, 2, 3]}, reading)
    assert "missing" in compare_block({"b": [0]}, reading)
