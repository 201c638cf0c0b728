"""Torch oracles for the book's explorers, and the check that holds the site to them.

Every explorer on the site (``tconv.widgets.explorer``, an element with ``data-explorer`` in the
page) has exactly one ``Oracle``, in ``tests/book/oracles/<chapter file stem>.py`` (a
module-level list ``ORACLES``). The browser test (tests/book/test_browser.py) drives each
explorer's sliders to every setting of its oracle with the keyboard, waits until the view has
drawn that setting, reads the blocks the oracle names as drawn (view_reading.py) and compares
them with what the oracle computed with torch in float64.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from view_reading import READ_BLOCK_JS, Drawn, heatmap_numbers, plot_numbers, table_numbers

ORACLES_DIR = Path(__file__).with_name("oracles")
EXPLORER_NAME = re.compile(r"ch(\d\d)-[a-z0-9-]+")


@dataclass(frozen=True)
class Oracle:
    """What explorer ``name`` must show at each of ``settings``.

    ``settings``: slider values by slider name (``data-params``); a slider not named stays at
    its opening value. ``expected(**values)`` receives every slider's value at that setting
    (only those its signature names, unless it takes ``**kwargs``) and returns
    ``{block key: value}``: an array of numbers (a matrix, vector or heat map as drawn; for a
    plot one series, or ``{series name: array}``), or a string the block's text contains.
    Compute it with torch in float64, never with tconv.
    """

    name: str
    settings: Sequence[Mapping[str, int]]
    expected: Callable[..., Mapping[str, object]]

    def expected_at(self, values: Mapping[str, int]) -> Mapping[str, object]:
        parameters = inspect.signature(self.expected).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return self.expected(**values)
        names = {p.name for p in parameters}
        return self.expected(**{k: v for k, v in values.items() if k in names})


class OracleError(Exception):
    """An oracle module that cannot be used as it is."""


def load_module(path: Path):
    """An oracle module by path (its name starts with a digit: not importable by name)."""
    spec = importlib.util.spec_from_file_location(f"explorer_oracles_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def oracles_by_module(directory: Path = ORACLES_DIR) -> dict[str, tuple[Oracle, ...]]:
    """``{chapter stem: its ORACLES}`` for every ``<stem>.py`` in ``directory``."""
    found = {}
    for path in sorted(directory.glob("[!_]*.py")):
        oracles = getattr(load_module(path), "ORACLES", None)
        if not isinstance(oracles, list) or not all(isinstance(o, Oracle) for o in oracles):
            raise OracleError(f"{path}: ORACLES must be a list of Oracle(...) entries")
        for oracle in oracles:
            problem = setting_problem(oracle)
            if problem:
                raise OracleError(f"{path}: {oracle.name}: {problem}")
        found[path.stem] = tuple(oracles)
    return found


def setting_problem(oracle: Oracle) -> str | None:
    if not EXPLORER_NAME.fullmatch(oracle.name):
        return "name must look like 'ch01-sliding-window'"
    if not oracle.settings or not callable(oracle.expected):
        return "needs at least one setting and a callable expected"
    for setting in oracle.settings:
        if not isinstance(setting, Mapping) or not all(
                isinstance(k, str) and isinstance(v, int) for k, v in setting.items()):
            return f"a setting must map slider names to ints, got {setting!r}"
    return None


# ---- in the browser ----------------------------------------------------------------------

# The sliders beside a view (the explorer's VBox), in order: range, value, what the readout
# shows, and the handle the keyboard drives.
SLIDERS_JS = """
(view) => Array.from((view.closest('.widget-vbox') || view.parentElement)
    .querySelectorAll('.widget-slider'), (slider) => {
  const handle = slider.querySelector('.noUi-handle');
  const readout = slider.querySelector('.widget-readout');
  return {
    min: Number(handle.getAttribute('aria-valuemin')),
    max: Number(handle.getAttribute('aria-valuemax')),
    value: Number(handle.getAttribute('aria-valuenow')),
    // The readout writes a negative value with U+2212 (−1); compare it as the number's text.
    shown: readout ? readout.textContent.trim().replace('\\u2212', '-') : null,
  };
})
"""
HANDLES_JS = """
(view) => Array.from((view.closest('.widget-vbox') || view.parentElement)
  .querySelectorAll('.widget-slider .noUi-handle'))
"""
# True once every slider shows its target (handle and readout) and the view has drawn it.
SETTLED_JS = """
([view, targets, key]) => {
  const sliders = (__SLIDERS__)(view);
  return view.dataset.setting === key && sliders.length === targets.length
    && sliders.every((s, i) => s.value === targets[i] && s.shown === String(targets[i]));
}
""".replace("__SLIDERS__", SLIDERS_JS)


def keys_to(current: int, target: int, low: int, high: int, step: int = 1) -> list[str]:
    """The fewest key presses that move a noUiSlider handle from ``current`` to ``target``:
    arrows, or Home/End to an end first."""
    routes = [
        ["ArrowRight" if target > current else "ArrowLeft"] * (abs(target - current) // step),
        ["Home"] + ["ArrowRight"] * ((target - low) // step),
        ["End"] + ["ArrowLeft"] * ((high - target) // step),
    ]
    return min(routes, key=len)


@dataclass
class ExplorerChecks:
    """What checking the explorers of one page found."""

    explorers: list[str]
    settings_checked: int
    failures: list[str]


def check_page_explorers(page, page_stem: str, timeout_ms: int) -> ExplorerChecks:
    """Drive every explorer on ``page`` through its oracle's settings and compare."""
    modules = oracles_by_module()
    oracle_of = {o.name: (stem, o) for stem, oracles in modules.items() for o in oracles}
    views = page.query_selector_all("[data-explorer]")
    names = [view.get_attribute("data-explorer") for view in views]
    result = ExplorerChecks(names, 0, [])
    for name in sorted({n for n in names if names.count(n) > 1}):
        result.failures.append(f"{names.count(name)} explorers named {name!r} on this page")
    for view, name in zip(views, names, strict=True):
        stem, oracle = oracle_of.get(name, (None, None))
        if oracle is None:
            result.failures.append(
                f"explorer {name!r} has no oracle: add one to tests/book/oracles/{page_stem}.py")
        elif stem != page_stem:
            result.failures.append(f"explorer {name!r}: its oracle is in oracles/{stem}.py, "
                                   f"but the explorer is on the page of {page_stem}")
        else:
            opening = [s["value"] for s in view.evaluate(SLIDERS_JS)]
            for setting in oracle.settings:
                result.failures += check_setting(page, view, oracle, setting, opening, timeout_ms)
                result.settings_checked += 1
    for oracle in modules.get(page_stem, ()):
        if oracle.name not in names:
            result.failures.append(
                f"oracle {oracle.name!r} (oracles/{page_stem}.py) matches no explorer on the "
                f"page; its explorers: {names}")
    return result


def check_setting(
    page, view, oracle: Oracle, setting: Mapping[str, int], opening: list[int], timeout_ms: int
) -> list[str]:
    """Move the explorer's sliders to ``setting`` (the others to their ``opening`` values),
    wait until the view has drawn it, then compare each block the oracle names."""
    params = [p for p in (view.get_attribute("data-params") or "").split(",") if p]
    where = f"{oracle.name} at {dict(setting)}"
    sliders = view.evaluate(SLIDERS_JS)
    if len(sliders) != len(params):
        return [f"{where}: {len(sliders)} sliders beside the view, but data-params names "
                f"{params}"]
    unknown = sorted(set(setting) - set(params))
    if unknown:
        return [f"{where}: no slider named {unknown}; the explorer's sliders are {params}"]
    targets = [setting.get(p, value) for p, value in zip(params, opening, strict=True)]
    for p, target, s in zip(params, targets, sliders, strict=True):
        if not s["min"] <= target <= s["max"]:
            return [f"{where}: slider {p} goes from {s['min']} to {s['max']}, not {target}"]
    handles = view.evaluate_handle(HANDLES_JS).get_properties().values()
    for handle, target, s in zip(handles, targets, sliders, strict=True):
        if s["value"] != target:
            handle.as_element().focus()
            for key in keys_to(s["value"], target, s["min"], s["max"]):
                page.keyboard.press(key)
    key = ",".join(map(str, targets))
    try:
        page.wait_for_function(SETTLED_JS, arg=[view, targets, key], timeout=timeout_ms)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError; reported with what is shown
        shown = [(p, s["value"], s["shown"]) for p, s in zip(params, view.evaluate(SLIDERS_JS),
                                                               strict=False)]
        return [f"{where}: the sliders did not reach {dict(zip(params, targets, strict=True))} "
                f"within {timeout_ms} ms, or the view did not draw it (it shows setting "
                f"{view.get_attribute('data-setting')!r}; sliders (name, value, readout): "
                f"{shown})"]
    values = dict(zip(params, targets, strict=True))
    failures = []
    for block, expected in oracle.expected_at(values).items():
        reading = page.evaluate(READ_BLOCK_JS, [view, block])
        problem = (f"{reading['count']} blocks with key {block!r}" if reading["count"] != 1
                   else compare_block(expected, reading))
        if problem:
            failures.append(f"{oracle.name} at {dict(setting)} (sliders {values}), block "
                            f"{block!r}: {problem}")
    return failures


# ---- comparing -------------------------------------------------------------------------------

def compare_block(expected, reading: dict) -> str | None:
    """Why the block read from the page does not show ``expected`` (None if it does)."""
    if isinstance(expected, str):
        if expected in reading["text"]:
            return None
        return f"its text does not contain {expected!r}; it reads {reading['text'][:300]!r}"
    kind = reading["kind"]
    if kind == "table":
        return compare_numbers(expected, table_numbers(reading))
    if kind == "heatmap":
        scale = float(np.max(np.abs(expected))) if np.size(expected) else 0.0
        return compare_numbers(expected, heatmap_numbers(reading, scale))
    if kind == "plot":
        drawn = plot_numbers(reading)
        if not isinstance(expected, Mapping):
            if len(drawn) != 1:
                return f"a plot of series {list(drawn)}: give {{series name: values}}"
            expected = {next(iter(drawn)): expected}
        problems = []
        for name, values in expected.items():
            problem = (compare_numbers(values, drawn[name]) if name in drawn
                       else f"missing (the plot has {list(drawn)})")
            if problem:
                problems.append(f"series {name!r}: {problem}")
        return "; ".join(problems) or None
    return f"a {kind} block shows no numbers; expect a string it contains"


def compare_numbers(expected, drawn: Drawn) -> str | None:
    want = np.asarray(expected, dtype=float)
    shown = drawn.values
    if want.ndim == 1 and shown.ndim == 2 and shown.shape[0] == 1:
        shown = shown[0]  # a vector is drawn as one row
    if shown.shape != want.shape:
        return f"shows shape {shown.shape}, expected {want.shape}: {shown.tolist()}"
    difference = np.where(np.isnan(shown), np.inf, np.abs(shown - want))
    allowed = drawn.atol + drawn.rtol * np.abs(want)
    if np.all(difference <= allowed):
        return None
    worst = np.unravel_index(np.argmax(difference - allowed), want.shape)
    return (f"largest difference {np.max(difference):.4g} (at index {tuple(map(int, worst))}: "
            f"shows {shown[worst]:.6g}, expected {want[worst]:.6g}, tolerance "
            f"{allowed[worst]:.2g})")
