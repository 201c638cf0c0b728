"""Chapter 1's numbers, recomputed here with torch (float64), appear in its built page.

Nothing is copied from the chapter: outputs come from ``F.conv1d``, windows from ``unfold``,
a convolution's matrix from autograd's Jacobian. The prose and the folded answers are
searched as a reader sees them (tags stripped); widget tables are left out, so a number that
only survives inside a slider's precomputed table does not count.
"""

from __future__ import annotations

import html
import re

import pytest
from torch_reference import (
    inner_product_text,
    torch_conv1d,
    torch_conv_matrix,
    torch_kept_taps,
    torch_windows,
)

from tconv import ops

pytestmark = pytest.mark.slow

PAGE = "book/01_conv_as_matrix.html"
X = [1.0, 4.0, -1.0, 0.0, 2.0, -2.0, 1.0, 3.0, 3.0, 1.0]
KAPPA = [1.0, 2.0, 0.0, -1.0]
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def length_formula(n, k, stride=1, padding=0, dilation=1) -> str:
    """The chapter's output-size formula with numbers; the result is torch's output length."""
    m = torch_conv1d([0.0] * n, [0.0] * k, stride, padding, dilation).numel()
    return f"⌊({n} + {2 * padding} − {dilation * (k - 1)} − 1)/{stride}⌋ + 1 = {m}"


def taps(indices) -> str:
    return ", ".join(f"κ{str(j).translate(SUBSCRIPTS)}" for j in indices)


def run(name, indices) -> str:
    """'x̃₀ … x̃₃' for the first and last of ``indices``."""
    first, last = (str(int(i)).translate(SUBSCRIPTS) for i in (indices[0], indices[-1]))
    return f"{name}{first} … {name}{last}"


@pytest.fixture(scope="module")
def raw(built_site) -> str:
    return (built_site / PAGE).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(raw) -> str:
    """The text a reader sees: no scripts, no tags, inline math without its \\( \\) delimiters."""
    no_scripts = re.sub(r"<script\b.*?</script>", " ", raw, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", no_scripts))
    return " ".join(text.replace("\\(", "").replace("\\)", "").split())


def test_fleuret_example(page):
    y = torch_conv1d(X, KAPPA)
    assert ops.as_text(y) in page
    assert f"{len(X)} − {len(KAPPA)} + 1 = {y.numel()}" in page
    first_window = torch_windows(X, len(KAPPA))[0]
    assert inner_product_text(KAPPA, first_window) in page, "y0 as a sum"
    assert f"{y.numel()} × {len(X)}" in page and f"{y.numel()} × {len(KAPPA)}" in page


def test_fleuret_matrix_is_toeplitz(page):
    W = torch_conv_matrix(KAPPA, len(X))
    diagonals_constant = bool((W[1:, 1:] == W[:-1, :-1]).all())
    assert diagonals_constant
    assert f"returns {diagonals_constant}" in page
    zero_taps = [j for j, tap in enumerate(KAPPA) if tap == 0]
    assert f"zero tap, {taps(zero_taps)}, sits inside the band" in page


def test_cs7643_example_shapes_and_edge_rows(page):
    """k=3, s=1, p=1 on four inputs: a 4 × 6 matrix on the padded input, W is 4 × 4, and the
    edge rows of W keep two taps (the review's correction of 'every row carries k numbers')."""
    padded_W = torch_conv_matrix([1.0, 2.0, 3.0], 6)
    W = torch_conv_matrix([1.0, 2.0, 3.0], 4, padding=1)
    assert f"{padded_W.shape[0]} × {padded_W.shape[1]}" in page
    assert f"{W.shape[0]} × {W.shape[1]}" in page
    kept = torch_kept_taps(3, 4, padding=1)
    assert f"middle rows hold all {max(len(row) for row in kept)} taps" in page
    lost = sorted(set(range(3)) - set(kept[0]))
    assert f"row 0 keeps only {taps(kept[0])} ({taps(lost)} would multiply the padding" in page
    assert f"the last row keeps only {taps(kept[-1])}" in page
    assert ops.as_text([len(row) for row in kept]) in page
    assert len(kept[0]) < 3 and len(kept[-1]) < 3


def test_cs7643_products_in_both_notations_are_typeset(raw):
    """The slide's products in its letters, then W x in the book's (sympy's LaTeX)."""
    for product in ("a y + b z", "b x + c y + d z", "c x + d y"):
        assert product in raw, product
    for product in (r"\kappa_{1} x_{0} + \kappa_{2} x_{1}",
                    r"\kappa_{0} x_{2} + \kappa_{1} x_{3}"):
        assert product in raw, product


def test_answer_padding_one(page):
    k = len(KAPPA)
    window = torch_windows(X, k, padding=1)[0].tolist()
    positions = torch_windows(list(range(len(X) + 2)), k)[0]  # positions in x̃ (p = 1)
    assert length_formula(len(X), k, padding=1) in page
    assert f"{run('x̃', positions)} = {ops.as_text(window)}: one padding zero, then " \
        f"{run('x', [0, k - 2])}" in page
    assert inner_product_text(KAPPA, window) in page
    assert ops.as_text(torch_conv1d(X, KAPPA, padding=1)) in page


def test_answer_dilation_two(page):
    k = len(KAPPA)
    positions = torch_windows(list(range(len(X))), k, dilation=2)[0]
    span = int(positions[-1] - positions[0]) + 1  # first to last tap, both included
    assert f"d(k − 1) + 1 = 2·{k - 1} + 1 = {span}" in page
    assert length_formula(len(X), k, dilation=2) in page
    assert ops.as_text(torch_conv1d(X, KAPPA, dilation=2)) in page
    assert f"still has {k} taps" in page


def test_answer_taps_per_row(page):
    """CS 7643's sizes (n=4, k=3, s=1) at p = 2, 0 and the opening p = 1."""
    kept = torch_kept_taps(3, 4, padding=2)
    assert length_formula(4, 3, padding=2) in page
    assert f"holding {ops.as_text([len(r) for r in kept])} taps; row 0 keeps only " \
        f"{taps(kept[0])}" in page
    kept = torch_kept_taps(3, 4, padding=0)
    assert length_formula(4, 3, padding=0) in page
    assert f"holding {ops.as_text([len(r) for r in kept])} taps: without padding" in page
    opening = ops.as_text([len(r) for r in torch_kept_taps(3, 4, padding=1)])
    assert f"At the opening p = 1 the rows hold {opening}" in page
    on_padded = {int(n) for n in (torch_conv_matrix([1.0] * 3, 4 + 2 * 2) != 0).sum(dim=1)}
    assert len(on_padded) == 1
    assert f"every row holds all {on_padded.pop()} taps" in page


def test_answer_stride_two(page):
    k = len(KAPPA)
    X2 = torch_windows(X, k, stride=2)
    W2 = torch_conv_matrix(KAPPA, len(X), stride=2)
    band = torch_conv_matrix([1.0] * k, len(X), stride=2)[2].nonzero().flatten().tolist()
    assert f"is = 2·2 = {2 * 2}" in page
    inputs = torch_windows(list(range(len(X))), k, stride=2)[2]
    assert f"row 2 of X is {ops.as_text(X2[2])} ({run('x', inputs)})" in page
    assert f"columns {', '.join(map(str, band))}" in page
    assert inner_product_text(KAPPA, X2[2].tolist()) in page
    assert f"{W2.shape[0]} × {W2.shape[1]} and {X2.shape[0]} × {X2.shape[1]}" in page


def test_sweep_count_and_error(page):
    """The chapter's sweep: every setting torch accepts, and a rounding-size largest error."""
    accepted = 0
    for n in range(1, 12):
        for k in range(1, 5):
            for stride in range(1, 4):
                for padding in range(3):
                    for dilation in range(1, 3):
                        try:
                            torch_conv1d([0.0] * n, [0.0] * k, stride, padding, dilation)
                        except RuntimeError:  # torch: the output would be empty
                            continue
                        accepted += 1
    match = re.search(r"Over (\d+) settings the largest difference is (\S+?):", page)
    assert match, "the sweep's sentence is missing"
    assert int(match.group(1)) == accepted
    assert float(match.group(2)) < 1e-12
