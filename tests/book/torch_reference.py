"""What every tconv.ops test needs: torch tensors, a float64 comparison, valid settings.

One copy, imported by the tests/book/test_ops*.py files (and by the chapters' page tests and
explorer oracles), so a tolerance or a strategy is changed in one place.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume
from hypothesis import strategies as st

from tconv import ops

ATOL = 1e-10
FLOATS = st.floats(-5, 5, allow_nan=False, width=32)


def t(values) -> torch.Tensor:
    """A (1, 1, L) or (1, 1, H, W) float64 tensor, the shape torch's conv functions want."""
    return torch.tensor(np.asarray(values, dtype=float), dtype=torch.float64)[None, None]


def close(actual, expected, what: str) -> None:
    """Equal shapes and values within ATOL; the failure names the largest difference."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    assert diff <= ATOL, f"{what}: max |difference| = {diff:.3g} > {ATOL}"


def vector(draw, size: int) -> np.ndarray:
    return np.array(draw(st.lists(FLOATS, min_size=size, max_size=size)))


@st.composite
def conv_settings(draw):
    """A valid (kernel, x, stride, padding, dilation) with a non-empty conv output."""
    k = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 4))
    dilation = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 4))
    n = draw(st.integers(1, 14))
    assume(ops.conv_output_size(n, k, stride, padding, dilation) >= 1)
    return vector(draw, k), vector(draw, n), stride, padding, dilation


@st.composite
def transposed_settings(draw):
    """A valid (kernel, a, stride, padding, output_padding, dilation) torch accepts."""
    k = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 4))
    dilation = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 4))
    output_padding = draw(st.sampled_from(list(ops.valid_output_paddings(stride, dilation))))
    n = draw(st.integers(1, 8))
    assume(ops.transposed_output_size(n, k, stride, padding, output_padding, dilation) >= 1)
    return vector(draw, k), vector(draw, n), stride, padding, output_padding, dilation


# --- Chapter 1: a convolution's windows and matrix, by torch alone ---------------------------


def torch_conv1d(x, kernel, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """``F.conv1d`` of one 1D signal, as a 1D float64 tensor (autograd follows a tensor ``x``)."""
    x, kernel = (torch.as_tensor(v, dtype=torch.float64) for v in (x, kernel))
    return F.conv1d(x[None, None], kernel[None, None], stride=stride, padding=padding,
                    dilation=dilation)[0, 0]


def torch_conv_matrix(kernel, n, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """The m × n matrix of a convolution: autograd's Jacobian of ``F.conv1d`` in its input."""
    return torch.autograd.functional.jacobian(
        lambda x: torch_conv1d(x, kernel, stride, padding, dilation),
        torch.zeros(n, dtype=torch.float64))


def torch_windows(x, k, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """Row i: the entries of the padded input that output i reads (im2col), by ``unfold``."""
    padded = F.pad(torch.as_tensor(x, dtype=torch.float64), (padding, padding))
    return padded.unfold(0, dilation * (k - 1) + 1, stride)[:, ::dilation]


def torch_kept_taps(k, n, stride=1, padding=0, dilation=1) -> list[list[int]]:
    """For each row of W, the taps j whose weight reaches it (autograd, one tap at a time)."""
    matrices = [torch_conv_matrix(np.eye(k)[tap], n, stride, padding, dilation)
                for tap in range(k)]
    return [[tap for tap in range(k) if matrices[tap][i].any()]
            for i in range(matrices[0].shape[0])]


def inner_product_text(kernel, window) -> str:
    """'1·1 + 2·4 + 0·(-1) + (-1)·0 = 9', as the chapters write a sum of products; the sum is
    torch's."""
    def number(value) -> str:
        return f"{float(value) + 0.0:g}"  # + 0.0: -0.0 prints as 0

    def factor(value) -> str:
        return number(value) if value >= 0 else f"({number(value)})"

    kernel, window = (torch.as_tensor(v, dtype=torch.float64) for v in (kernel, window))
    terms = " + ".join(f"{factor(a)}·{factor(b)}" for a, b in zip(kernel, window, strict=True))
    return f"{terms} = {number(kernel @ window)}"


# Matrices from torch alone (its conv functions applied to unit vectors), never from tconv.


def conv1d_matrix(kernel, n: int, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The matrix W of ``F.conv1d`` on inputs of length n, as a numpy array."""
    return torch_conv_matrix(kernel, n, stride, padding, dilation).numpy()


def conv_transpose1d_matrix(kernel, m: int, stride=1, padding=0, output_padding=0, dilation=1):
    """The matrix of ``F.conv_transpose1d`` on inputs of length m (n × m)."""
    eye = torch.eye(m, dtype=torch.float64)[:, None, :]
    weight = torch.tensor(np.asarray(kernel, dtype=float), dtype=torch.float64)[None, None]
    out = F.conv_transpose1d(eye, weight, stride=stride, padding=padding,
                             output_padding=output_padding, dilation=dilation)
    return out[:, 0, :].T.numpy()


def conv1d_length(n: int, k: int, stride=1, padding=0, dilation=1) -> int | None:
    """The length ``F.conv1d`` returns for an input of length n, or None where it refuses it."""
    try:
        return F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=stride,
                        padding=padding, dilation=dilation).shape[-1]
    except RuntimeError:  # the padded input is shorter than the dilated kernel
        return None


def conv_transpose1d_length(m: int, k: int, stride=1, padding=0, output_padding=0,
                            dilation=1) -> int | None:
    """The length ``F.conv_transpose1d`` returns for an input of length m, or None where it
    refuses the setting (output_padding too large, or nothing left after cropping)."""
    try:
        return F.conv_transpose1d(torch.zeros(1, 1, m), torch.zeros(1, 1, k), stride=stride,
                                  padding=padding, output_padding=output_padding,
                                  dilation=dilation).shape[-1]
    except RuntimeError:
        return None
