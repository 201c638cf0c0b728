"""Chapter 7's numbers are in its built page (prose and folded answers), recomputed by torch.

The expected values come from torch's conv1d, conv_transpose1d and autograd in float64, never
from the chapter or from tconv's helpers under test.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from book_pages import chapter_html, prose

from tconv import ops
from testkit.site import widget_state_text

pytestmark = pytest.mark.slow

LECTURE_X, LECTURE_KERNEL = [1, 4, -1, 0, 2, -2, 1, 3, 3, 1], [1, 2, 0, -1]
STRIDED_X, STRIDED_KERNEL = [1, 4, -1, 0, 2, -2, 1, 3], [1, 2, -1]


def t(values) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=float), dtype=torch.float64)[None, None]


@pytest.fixture(scope="module")
def raw(built_site) -> str:
    return chapter_html(built_site, "07_backward_pass")


@pytest.fixture(scope="module")
def page(raw) -> str:
    return prose(raw)


def grads(x, kernel, stride=1, padding=0):
    """(g, x.grad, κ.grad) for loss = ||conv1d(x)||^2 / 2, the loss the chapter uses."""
    x_t, kernel_t = t(x).requires_grad_(True), t(kernel).requires_grad_(True)
    y = F.conv1d(x_t, kernel_t, stride=stride, padding=padding)
    (0.5 * (y**2).sum()).backward()
    return y[0, 0].detach().numpy(), x_t.grad[0, 0].numpy(), kernel_t.grad[0, 0].numpy()


def test_lecture_example_gradient_and_its_terms(page):
    g, grad_x, _ = grads(LECTURE_X, LECTURE_KERNEL)
    assert f"\\(g = y =\\) {ops.as_text(g)}" in page
    assert ops.as_text(grad_x) in page
    k = len(LECTURE_KERNEL)
    terms = {u: [(i, u - i) for i in range(g.size) if 0 <= u - i < k] for u in (0, 1, 5)}
    assert f"has {len(terms[0])} term" in page and f"has {len(terms[5])}, one per tap" in page
    symbols = " + ".join(f"g{i}·κ{j}" for i, j in terms[1])
    numbers = " + ".join(f"({ops.as_text(g[i])})·({LECTURE_KERNEL[j]})" for i, j in terms[1])
    assert f"{symbols} = {numbers} = {ops.as_text(grad_x[1])}" in page
    padded = np.pad(g, k - 1)
    flipped = np.allclose(np.correlate(padded, LECTURE_KERNEL[::-1]), grad_x, atol=1e-12)
    unflipped = np.allclose(np.correlate(padded, LECTURE_KERNEL), grad_x, atol=1e-12)
    assert (flipped, unflipped) == (True, False)
    assert f"matches autograd ({flipped})" in page and f"does not ({unflipped})" in page


def test_stride_two_gradient_and_output_padding(page, raw):
    n, k, s, p = len(STRIDED_X), len(STRIDED_KERNEL), 2, 1
    g, grad_x, _ = grads(STRIDED_X, STRIDED_KERNEL, s, p)
    short = F.conv_transpose1d(t(g), t(STRIDED_KERNEL), stride=s, padding=p)
    r = n - short.shape[-1]
    assert f"⌊({n} + 2·{p} − {k})/{s}⌋ + 1 = {g.size}" in page
    assert f"returns {short.shape[-1]} numbers" in page
    assert f"({n} + 2·{p} − {k}) mod {s} = {r}" in page
    assert ops.as_text(grad_x) in page
    merged = [length for length in range(1, 20)
              if F.conv1d(torch.zeros(1, 1, length), torch.zeros(1, 1, k), stride=s,
                          padding=p).shape[-1] == g.size]
    assert " and ".join(map(str, merged)) + " all give" in page
    # the identity explorer's opening setting (in its precomputed table, not the prose)
    table = widget_state_text(raw)
    assert f"output_padding={r}" in table
    assert f"only {n - r} of {n} entries" in table


def test_weight_gradient(page):
    k, s, p = len(STRIDED_KERNEL), 2, 1
    g, _, kernel_grad = grads(STRIDED_X, STRIDED_KERNEL, s, p)
    assert f"\\(\\partial\\ell/\\partial\\kappa =\\) {ops.as_text(kernel_grad)}" in page
    assert f"(\\(X\\) is {g.size} × {k})" in page
    # the question: tap 1 on the lecture's x at stride 2, padding 1
    m = F.conv1d(t(LECTURE_X), t(LECTURE_KERNEL), stride=2, padding=1).shape[-1]
    positions = [i * 2 + 1 for i in range(m)]
    assert f"positions {', '.join(map(str, positions))} of" in page
    assert f"which are {', '.join(f'x{pos - 1}' for pos in positions)}" in page
    values = np.pad(np.asarray(LECTURE_X, dtype=float), 1)[positions]
    assert f"hold {', '.join(ops.as_text(v) for v in values)}" in page
    assert f"That is {m} terms" in page


def relative_gap(transposed, n, k, stride, padding, seed=0) -> float:
    """The chapter's adjoint test: |<a, conv1d(x)> - <transposed(a), x>| over the terms' size."""
    rng = np.random.default_rng(seed)
    kernel, x = rng.normal(size=k), rng.normal(size=n)
    y = F.conv1d(t(x), t(kernel), stride=stride, padding=padding)[0, 0].numpy()
    a = rng.normal(size=y.size)
    r = n - F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding).shape[-1]
    back = transposed(a, kernel, stride, padding, r)
    W = torch.autograd.functional.jacobian(
        lambda v: F.conv1d(v, t(kernel), stride=stride, padding=padding)[0, 0], t(x))
    scale = np.abs(a) @ np.abs(W.reshape(y.size, n).numpy()) @ np.abs(x)
    return abs(a @ y - back @ x) / scale


def torch_transposed(a, kernel, stride, padding, output_padding):
    return F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                              output_padding=output_padding)[0, 0].numpy()


def test_what_the_adjoint_test_misses(page):
    def crop_at_end(a, kernel, stride, padding, output_padding):
        uncropped = torch_transposed(a, kernel, stride, 0, output_padding)
        return uncropped[: uncropped.size - 2 * padding]

    outcome = {(s, p): relative_gap(crop_at_end, 10, 3, s, p) <= 1e-12
               for s, p in [(1, 0), (2, 0), (1, 1), (2, 1)]}
    passing = " and ".join(f"s = {s}, p = {p}" for (s, p), ok in outcome.items() if ok)
    failing = " and ".join(f"s = {s}, p = {p}" for (s, p), ok in outcome.items() if not ok)
    assert f"It passes at {passing}, and fails at {failing}." in page

    def off_by(epsilon):
        def transposed(a, kernel, stride, padding, output_padding):
            out = torch_transposed(a, kernel, stride, padding, output_padding)
            out[3] += epsilon * a[0]
            return out
        return transposed

    caught = {eps: relative_gap(off_by(eps), 10, 3, 2, 1) > 1e-12 for eps in (1e-3, 1e-9, 1e-14)}
    assert caught == {1e-3: True, 1e-9: True, 1e-14: False}
    assert "caught for \\(\\varepsilon =\\) 1e-03, 1e-09 and missed for" in page
    assert "missed for \\(\\varepsilon =\\) 1e-14, below the tolerance 1e-12" in page
    assert "could agree by luck" not in page and "proves" not in page


def test_adjoint_matrix_2d_output_padding_and_gan_lengths(page):
    a_len = F.conv1d(torch.zeros(1, 1, 10), torch.zeros(1, 1, 3), stride=2, padding=1).shape[-1]
    assert f"The matrix of conv_transpose1d is 10 × {a_len}" in page
    image = torch.zeros(1, 1, 8, 7)
    out = F.conv2d(image, torch.zeros(1, 1, 3, 3), stride=2, padding=1)
    up = F.conv_transpose2d(out, torch.zeros(1, 1, 3, 3), stride=2, padding=1)
    output_padding = tuple(a - b for a, b in zip(image.shape[2:], up.shape[2:], strict=True))
    assert f"output_padding = {output_padding}" in page
    lengths = [5]
    layer = torch.nn.ConvTranspose1d(1, 1, kernel_size=4, stride=2, padding=1)
    for _ in range(3):
        lengths.append(layer(torch.zeros(1, 1, lengths[-1])).shape[-1])
    assert " → ".join(map(str, lengths)) in page


def test_glued_numbers_the_other_tests_do_not_read(page):
    """Each is recomputed with torch; a wrong glued value fails here."""
    g, grad_x, _ = grads(LECTURE_X, LECTURE_KERNEL)
    first = " + ".join(f"g{i}·κ{-i}" for i in range(g.size) if 0 <= -i < len(LECTURE_KERNEL))
    assert f"term ({first}): only the first output" in page
    g8, grad_x8, _ = grads(STRIDED_X, STRIDED_KERNEL, 2, 1)
    assert f"all give \\(m =\\) {g8.size}." in page
    assert f"whose last entry {ops.as_text(grad_x8[-1:])} is a real gradient" in page
    # the adjoint test's setting, n = 10, k = 3, s = 2, p = 1, and its random vectors
    rng = np.random.default_rng(0)
    kernel, x = t(rng.normal(size=3))[0], t(rng.normal(size=10))[0]
    y = F.conv1d(x[None], kernel[None], stride=2, padding=1)
    a = t(rng.normal(size=y.shape[-1]))[0][None]
    r = 10 - F.conv_transpose1d(a, kernel[None], stride=2, padding=1).shape[-1]
    assert f"(so output_padding \\(=\\) {r}), the two sides are" in page
    left = float((a * y).sum())
    right = float((F.conv_transpose1d(a, kernel[None], stride=2, padding=1,
                                      output_padding=r) * x[None]).sum())
    shown = re.search(r"the two sides are (-?[0-9.]+) and (-?[0-9.]+),", page)
    assert shown, "the adjoint test's two sides are not on the page"
    assert abs(float(shown[1]) - left) < 1e-11 and abs(float(shown[2]) - right) < 1e-11
    # the sweep: every setting (n ≤ 12, k ≤ 5, s ≤ 4, p ≤ 3, d = 1, 2) torch can convolve
    swept = sum(_torch_accepts(*setting) for setting in itertools.product(
        range(1, 13), range(1, 6), range(1, 5), range(4), (1, 2)))
    assert f"Over {swept} settings the largest difference" in page
    z_len = 5
    out_len = torch.nn.ConvTranspose1d(1, 1, 4, stride=2, padding=1)(torch.zeros(1, 1, z_len))
    assert f"A code of length {z_len} becomes a signal of length {out_len.shape[-1]}" in page


def _torch_accepts(n, k, stride, padding, dilation) -> bool:
    try:
        F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=stride, padding=padding,
                 dilation=dilation)
    except RuntimeError:
        return False
    return True
