"""Chapters 2 and 3 have what BOOK.md asks of every chapter, and their explorers show what
their torch oracles compute.

Structure: learning goals, at least 2 explorers, at least 3 predict-then-check questions each
with a folded answer, a summary. Explorers: every precomputed table, as embedded in the built
page, shows at each oracle setting what its oracle (tests/book/oracles/) computes with torch.
The page's widget state holds the blocks of every slider setting, which is what view.js draws;
reading it needs no browser. The browser test drives the same oracles through the real sliders.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from explorer_oracle import ORACLES_DIR, load_module
from page_text import ChapterPage

from tconv.widgets import entry

pytestmark = pytest.mark.slow

PAGES = ("02_transposed_is_transpose", "03_channels_and_groups")
WIDGET_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)
ATOL = 1e-6  # the tables keep 6 decimals


def oracles(stem: str) -> list:
    return load_module(ORACLES_DIR / f"{stem}.py").ORACLES


def explorers_on(site, stem: str) -> dict[str, dict]:
    """{explorer name: its view's synced state} for every explorer on the page."""
    raw = (site / "book" / f"{stem}.html").read_text(encoding="utf-8")
    found = {}
    for state in WIDGET_STATE.findall(raw):
        for model in json.loads(state)["state"].values():
            view = model["state"]
            if "table" in view and view.get("name"):
                assert view["name"] not in found, f"two explorers named {view['name']}"
                found[view["name"]] = view
    return found


def shown_at(view: dict, setting: dict) -> dict[str, dict]:
    """{block key: block} the explorer shows at ``setting`` (other sliders at their opening)."""
    params = view["params"]
    unknown = set(setting) - set(params)
    assert not unknown, f"no slider named {sorted(unknown)}; the sliders are {params}"
    values = [setting.get(p, view[f"v{i}"]) for i, p in enumerate(params)]
    return {block["key"]: block for block in entry(view["table"], values) if "key" in block}


@pytest.mark.parametrize("stem", PAGES)
def test_goals_explorers_questions_with_folded_answers_and_summary(built_site, stem):
    page = ChapterPage.load(built_site, stem)
    assert "In this chapter you will" in page.text
    assert len(explorers_on(built_site, stem)) >= 2
    questions = page.text.count("Predict, then check")
    assert questions >= 3, f"{questions} predict-then-check questions"
    assert len(page.answers) == questions, "every question has one folded answer"
    assert "Summary" in page.text.split("Predict, then check")[-1], "no summary after them"


@pytest.mark.parametrize("stem", PAGES)
def test_every_explorer_on_the_page_has_an_oracle_and_every_oracle_an_explorer(built_site, stem):
    on_page = set(explorers_on(built_site, stem))
    with_oracle = {oracle.name for oracle in oracles(stem)}
    assert on_page == with_oracle, f"explorers {sorted(on_page)}, oracles {sorted(with_oracle)}"


@pytest.mark.parametrize("stem", PAGES)
def test_each_explorer_shows_what_torch_computes(built_site, stem):
    views = explorers_on(built_site, stem)
    failures = []
    for oracle in oracles(stem):
        view = views[oracle.name]
        for setting in oracle.settings:
            values = {p: setting.get(p, view[f"v{i}"]) for i, p in enumerate(view["params"])}
            blocks = shown_at(view, setting)
            for key, expected in oracle.expected_at(values).items():
                where = f"{oracle.name} at {values}, block {key!r}"
                if key not in blocks:
                    failures.append(f"{where}: not shown (keys: {sorted(blocks)})")
                elif isinstance(expected, str):
                    if expected not in blocks[key].get("text", blocks[key].get("title", "")):
                        failures.append(f"{where}: does not contain {expected!r}")
                else:
                    shown = np.asarray(blocks[key]["values"], dtype=float)
                    want = np.asarray(expected, dtype=float)
                    if shown.shape != want.shape:
                        failures.append(f"{where}: shape {shown.shape}, expected {want.shape}")
                    elif not np.allclose(shown, want, rtol=0, atol=ATOL):
                        failures.append(f"{where}: max |difference| = "
                                        f"{np.max(np.abs(shown - want)):.3g}")
    assert not failures, "\n".join(failures)
