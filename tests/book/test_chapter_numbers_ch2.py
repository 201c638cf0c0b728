"""Chapter 2's numbers, recomputed here with torch, appear in its built HTML.

Nothing is copied from the chapter: the values come from torch with the settings the lectures
(or the chapter's questions) give, so a chapter that drifts from torch, or stops showing these
results, fails here. Scripts (the explorers' tables) are stripped first: a number must be in
the prose, an output or a folded answer.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from page_text import ChapterPage

from tconv import ops

pytestmark = pytest.mark.slow

STEM = "02_transposed_is_transpose"
A = [2.0, 3.0, 0.0, -1.0]
KERNEL = [1.0, 2.0, -1.0]


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)[None, None]


def impulse(length: int, position: int) -> torch.Tensor:
    x = torch.zeros(1, 1, length, dtype=torch.float64)
    x[..., position] = 1.0
    return x


def matrix_of(f, at: torch.Tensor) -> torch.Tensor:
    return torch.autograd.functional.jacobian(f, at)


@pytest.fixture(scope="module")
def page(built_site) -> ChapterPage:
    return ChapterPage.load(built_site, STEM)


def test_worked_example_output(page):
    out = F.conv_transpose1d(t(A), t(KERNEL))[0, 0]
    assert ops.as_text(out) in page.text


def test_each_stamp_is_one_input_times_the_kernel(page):
    """Stamp i is the transposed convolution of a[i] alone: a[i] * kernel."""
    for i, value in enumerate(A):
        alone = np.zeros(len(A))
        alone[i] = value
        stamp = F.conv_transpose1d(t(alone.tolist()), t(KERNEL))[0, 0]
        segment = stamp[i : i + len(KERNEL)]
        assert ops.as_text(segment) in page.text, f"stamp of a[{i}] missing"


def test_impulse_examples(page):
    x, k = impulse(7, 2), t([1.0, 2.0, 3.0])
    assert ops.as_text(F.conv1d(x, k)) in page.text
    assert ops.as_text(F.conv_transpose1d(x, k)) in page.text


def test_conv_transpose_module(page):
    m = nn.ConvTranspose1d(1, 1, kernel_size=3).double()
    with torch.no_grad():
        m.bias.zero_()
        m.weight.copy_(t(KERNEL))
        out = m(t(A))
    assert ops.as_text(out) in page.text
    assert str(tuple(m.weight.shape)) in page.text


def test_lecture_matrix_shapes(page):
    """AMMI 9.1's matrix: a 3-tap kernel on 7 inputs; W^T has the shape of the Jacobian of
    conv_transpose1d with respect to its input, (7 outputs) × (5 inputs)."""
    n_out = F.conv1d(torch.zeros(1, 1, 7, dtype=torch.float64), t(KERNEL)).shape[-1]
    jac = matrix_of(lambda a: F.conv_transpose1d(a, t(KERNEL))[0, 0],
                    torch.zeros(1, 1, n_out, dtype=torch.float64))
    rows, cols = jac.shape[0], jac.shape[-1]
    assert f"{cols} × {rows}" in page.text  # W
    assert f"{rows} × {cols}" in page.text  # W^T


def test_stride_one_sweep_counts_every_setting_torch_accepts(page):
    """The chapter's sweep: every (m, k, p, d) for which F.conv_transpose1d has an output."""
    accepted, cropped = 0, 0
    for m in range(1, 10):
        for k in range(1, 6):
            for padding in range(5):
                for dilation in range(1, 4):
                    try:
                        F.conv_transpose1d(torch.zeros(1, 1, m), torch.zeros(1, 1, k),
                                           padding=padding, dilation=dilation)
                    except RuntimeError:
                        continue
                    accepted += 1
                    cropped += dilation * (k - 1) - padding < 0
    assert f"Over {accepted} settings (of which {cropped} need" in page.text


def test_deconvolution_numbers(page):
    """The full convolution with Fleuret's kernel on the chapter's random x: W is tall, W^T W
    is not I, W^T y is not x, and W^T is not the pseudo-inverse."""
    x = torch.tensor(np.random.default_rng(7).integers(-3, 4, size=6), dtype=torch.float64)
    kappa, padding = t(KERNEL), len(KERNEL) - 1
    W = matrix_of(lambda v: F.conv1d(v[None, None], kappa, padding=padding)[0, 0], x)
    y = F.conv1d(x[None, None], kappa, padding=padding)
    Wt_y = F.conv_transpose1d(y, kappa, padding=padding)[0, 0]
    assert f"{W.shape[0]} × {W.shape[1]}" in page.text
    assert f"rank {int(torch.linalg.matrix_rank(W))}" in page.text
    assert ops.as_text((W.T @ W)[0]) in page.text
    assert ops.as_text(x) in page.text and ops.as_text(Wt_y) in page.text
    gap = float((W.T - torch.linalg.pinv(W)).abs().max())
    assert f"{gap:.3g}" in page.text
    assert float((W.T @ W - torch.eye(x.numel())).abs().max()) > 1  # the chapter's claim


def test_answer_stamp_of_a1(page):
    stamp = F.conv_transpose1d(t([0.0, 3.0, 0.0, 0.0]), t(KERNEL))[0, 0]
    where = torch.nonzero(stamp).ravel()
    length = F.conv_transpose1d(t(A), t(KERNEL)).shape[-1]
    answer = page.answers[0]
    assert ops.as_text(stamp[stamp != 0]) in answer
    assert f"{int(where[0])}–{int(where[-1])}" in answer
    assert f"{length} entries" in answer


def test_answer_impulse_at_the_last_position(page):
    x, k = impulse(7, 6), t([1.0, 2.0, 3.0])
    assert ops.as_text(F.conv1d(x, k)) in page.answers[1]
    assert ops.as_text(F.conv_transpose1d(x, k)) in page.answers[1]


def flipped_conv(a, kappa, padding, dilation):
    """F.conv1d with the flipped kernel, or None where torch finds the input too short."""
    try:
        return F.conv1d(a, kappa.flip(-1), padding=padding, dilation=dilation)
    except RuntimeError:
        return None


def same(x, y) -> bool:
    return x is not None and x.shape == y.shape and torch.allclose(x, y, rtol=0, atol=1e-12)


def test_answer_dilation_changes_the_flipped_padding(page):
    """k = 3, p = 1: the flipped convolution's padding is the one that makes F.conv1d with the
    flipped kernel equal F.conv_transpose1d, for d = 1 and d = 2; and the output length."""
    rng = np.random.default_rng(0)
    a, kappa = t(rng.normal(size=4).tolist()), t(rng.normal(size=3).tolist())
    flipped_padding = {}
    for dilation in (1, 2):
        want = F.conv_transpose1d(a, kappa, padding=1, dilation=dilation)
        pads = [p for p in range(6)
                if same(flipped_conv(a, kappa, p, dilation), want)]
        assert len(pads) == 1
        flipped_padding[dilation] = pads[0]
    assert f"goes from {flipped_padding[1]} to {flipped_padding[2]}" in page.answers[2]
    assert f"{want.shape[-1]} entries" in page.answers[2]


def test_answer_delta_kernel_loses_the_ends(page):
    x = torch.tensor(np.random.default_rng(7).integers(-3, 4, size=6), dtype=torch.float64)
    delta = t([0.0, 1.0, 0.0])
    back = F.conv_transpose1d(F.conv1d(x[None, None], delta), delta)
    W = matrix_of(lambda v: F.conv1d(v[None, None], delta)[0, 0], x)
    assert torch.equal(W @ W.T, torch.eye(W.shape[0], dtype=torch.float64))
    assert "True" in page.answers[3]
    assert ops.as_text(back) in page.answers[3]
    assert ops.as_text(torch.linalg.pinv(W) @ (W @ x)) in page.answers[3]


def test_one_citation_scheme_and_the_reviewed_errors_stay_fixed(page):
    """Slides are cited by lecture and title, never by number, and dilation does not "double"
    p' (the outside review's finding: p' = d(k-1) - p)."""
    assert not re.search(r"\bslides?\s+\d", page.text, re.I)
    assert "doubles" not in page.text


def test_cs7643_example_paddings_and_cropped_rows(page):
    """Kernel size 3 on 4 inputs: F.conv_transpose1d with padding 0 equals F.conv1d with the
    flipped kernel and padding 2, with padding 1 it equals padding 1; padding 1 drops the
    first and last of the 6 outputs."""
    rng = np.random.default_rng(1)
    a, kappa = t(rng.normal(size=4).tolist()), t(rng.normal(size=3).tolist())
    full = F.conv_transpose1d(a, kappa)
    cropped = F.conv_transpose1d(a, kappa, padding=1)
    flipped = {p: flipped_conv(a, kappa, p, 1) for p in range(4)}
    p_full = [p for p, out in flipped.items() if same(out, full)]
    p_same = [p for p, out in flipped.items() if same(out, cropped)]
    assert f"flipped kernel and padding {p_full[0]}" in page.text
    assert f"and padding {p_same[0]} :" in page.text
    assert torch.allclose(cropped, full[..., 1:-1], rtol=0, atol=1e-12)  # one off each end
    assert f"rows 0 and {full.shape[-1] - 1}" in page.text
    assert f"{cropped.shape[-1]} × {a.shape[-1]} matrix" in page.text


TINY = 1e-12  # a printed difference of two float64 computations of the same numbers


def test_impulse_grows_and_shrinks(page):
    """The transposed convolution of the impulse is longer than the impulse by as much as the
    convolution is shorter (k - 1 each way)."""
    x, k = impulse(7, 2), t([1.0, 2.0, 3.0])
    grow = F.conv_transpose1d(x, k).shape[-1] - x.shape[-1]
    shrink = x.shape[-1] - F.conv1d(x, k).shape[-1]
    assert f"also {grow} entries longer than the input" in page.text
    assert f"where the convolution was {shrink} shorter" in page.text


def test_answer_taps_lost_at_the_last_position(page):
    """At the last position one window holds the impulse, under one tap: the others are lost."""
    x, k = impulse(7, 6), t([1.0, 2.0, 3.0])
    held = int(torch.count_nonzero(F.conv1d(x, k)))
    assert f"so {k.shape[-1] - held} of the {k.shape[-1]} taps are lost" in page.answers[1]


def test_deconvolution_gram_diagonal_and_errors(page):
    """The squared length of a column of the full convolution's W, max |W^T W - I|, and how far
    W^T y is from x, from torch; the pseudo-inverse and lstsq recover x to rounding error."""
    x = torch.tensor(np.random.default_rng(7).integers(-3, 4, size=6), dtype=torch.float64)
    kappa, padding = t(KERNEL), len(KERNEL) - 1
    W = matrix_of(lambda v: F.conv1d(v[None, None], kappa, padding=padding)[0, 0], x)
    y = F.conv1d(x[None, None], kappa, padding=padding)
    Wt_y = F.conv_transpose1d(y, kappa, padding=padding)[0, 0]
    gram = W.T @ W
    assert f"the squared length {ops.as_text(gram[0, 0])} " in page.text
    assert torch.allclose(gram.diagonal(), (kappa**2).sum())  # every column: sum of kappa_j^2
    [gram_err] = page.shown_numbers(r"I\|\\?\)? = (\S+) , and")
    assert gram_err == float((gram - torch.eye(x.numel())).abs().max())
    assert f"off by up to {ops.as_text((Wt_y - x).abs().max())} :" in page.text
    pinv_err, lstsq_err = page.shown_numbers(
        r"recovers \S+ \S* ?to (\S+) \(and np\.linalg\.lstsq to (\S+) \)")
    assert pinv_err < TINY and lstsq_err < TINY
