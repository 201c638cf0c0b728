"""What a chapter glued into its prose, read back from the build, and torch's matrices to check it.

myst-nb writes every ``glue`` of a page to ``_build/jupyter_execute/<page>.glue.json`` (it reads
them from there for cross-page references). A test compares each value with what torch
computes, so a number in the prose cannot drift from the code, and a newly glued number without
a check fails the test that lists a chapter's glue names.

Symbolic matrices here take each tap's place from torch (``torch_reference.conv1d_matrix``),
never from ``tconv``, so a matrix on a page is checked against PyTorch's own layout.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import sympy
from torch_reference import conv1d_matrix


def glued(built_site: Path, page: str) -> dict[str, object]:
    """``{name: value}`` for every glue of ``page`` (e.g. ``"book/05_output_size"``).

    Text and numbers come back as the Python values the chapter glued; math (IPython ``Math``)
    as its LaTeX, without the ``$\\displaystyle ...$`` wrapper.
    """
    path = built_site.parent / "jupyter_execute" / f"{page}.glue.json"
    values = {}
    for name, output in json.loads(path.read_text(encoding="utf-8")).items():
        bundle = output["data"]
        if "text/latex" in bundle:
            values[name] = bundle["text/latex"].removeprefix("$\\displaystyle ").removesuffix("$")
        else:
            values[name] = ast.literal_eval(bundle["text/plain"])
    return values


def symbolic_conv_matrix(tap_names: str, n: int, stride=1, padding=0):
    """W with symbolic taps, each tap's 0/1 pattern taken from ``F.conv1d``."""
    taps = sympy.symbols(tap_names)
    W = None
    for j, tap in enumerate(taps):
        pattern = conv1d_matrix(np.eye(len(taps))[j], n, stride, padding).astype(int)
        W = tap * sympy.Matrix(pattern) if W is None else W + tap * sympy.Matrix(pattern)
    return W


def latex_product(M, v) -> str:
    """``M v = (M v)`` in LaTeX, the way the chapters glue a matrix product."""
    return sympy.latex(M) + sympy.latex(v) + "=" + sympy.latex(M * v)


def check_glue(values: dict, expected: dict, errors=(), elsewhere=(),
               tolerance: float = 1e-12) -> None:
    """Every glued value is checked: equal to ``expected`` (numbers, text, LaTeX), or one of
    ``errors`` (a printed largest difference) and at most ``tolerance``, or named in
    ``elsewhere`` (a test of its own). Names glued without a check, or checked but no longer
    glued, fail too."""
    checked = set(expected) | set(errors) | set(elsewhere)
    assert set(values) == checked, (
        f"glued but not checked: {sorted(set(values) - checked)}; "
        f"checked but not glued: {sorted(checked - set(values))}")
    wrong = {name: (values[name], want) for name, want in expected.items()
             if values[name] != want}
    assert not wrong, "glued value (first) != torch's (second): " + "; ".join(
        f"{name}: {got!r} != {want!r}" for name, (got, want) in wrong.items())
    too_large = {name: values[name] for name in errors if float(values[name]) > tolerance}
    assert not too_large, f"differences above {tolerance}: {too_large}"
