"""Torch oracles for the explorers of book/01_conv_as_matrix.md (see explorer_oracle.py).

Everything here is computed with torch in float64, never with tconv: a window is torch's
``unfold`` of the padded input, a convolution's matrix is the Jacobian autograd finds.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from explorer_oracle import Oracle
from torch_reference import (
    inner_product_text,
    torch_conv1d,
    torch_conv_matrix,
    torch_kept_taps,
    torch_windows,
)

# Fleuret's worked example (AMMI 9.1, "Convolution layer").
X = [1.0, 4.0, -1.0, 0.0, 2.0, -2.0, 1.0, 3.0, 3.0, 1.0]
KAPPA = [1.0, 2.0, 0.0, -1.0]
# ch01-conv-matrix: the input 1, 2, ..., n and this kernel cut to k taps (no zeros in either).
BAND_KERNEL = [1.0, 2.0, -1.0, 3.0]
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def column(values) -> np.ndarray:
    """A vector as the n × 1 matrix block the explorer draws."""
    return np.asarray(values, dtype=float)[:, None]


def padded(x, padding) -> torch.Tensor:
    return F.pad(torch.tensor(x, dtype=torch.float64), (padding, padding))


def y_i(i) -> str:
    return f"y{str(i).translate(SUBSCRIPTS)}"


def sliding_window(i, stride, padding, dilation):
    x_padded = padded(X, padding)
    # Row i of the convolution's matrix on the padded input is κ laid under window i.
    kernel_under_window = torch_conv_matrix(KAPPA, x_padded.numel(), stride, 0, dilation)[i]
    window = torch_windows(X, len(KAPPA), stride, padding, dilation)[i]
    return {
        "window": torch.stack([x_padded, kernel_under_window]).numpy(),
        "products": (window * torch.tensor(KAPPA, dtype=torch.float64)).numpy(),
        "y": torch_conv1d(X, KAPPA, stride, padding, dilation).numpy(),
        "sum": f"{y_i(i)} = {inner_product_text(KAPPA, window)}",
    }


def conv_as_matrix(n, k, stride, padding, dilation):
    x, kernel = [float(u + 1) for u in range(n)], BAND_KERNEL[:k]
    taps = " ".join(str(len(kept)) for kept in torch_kept_taps(k, n, stride, padding, dilation))
    return {
        "W_padded": torch_conv_matrix(kernel, n + 2 * padding, stride, 0, dilation).numpy(),
        "x_padded": padded(x, padding).numpy(),
        "W": torch_conv_matrix(kernel, n, stride, padding, dilation).numpy(),
        "y": torch_conv1d(x, kernel, stride, padding, dilation).numpy(),
        "caption": f"Taps per row of W: {taps}.",
    }


def two_products(i, stride, padding, dilation):
    y = column(torch_conv1d(X, KAPPA, stride, padding, dilation))
    windows = torch_windows(X, len(KAPPA), stride, padding, dilation)
    return {
        "W": torch_conv_matrix(KAPPA, len(X), stride, padding, dilation).numpy(),
        "x": column(X),
        "Wx": y,
        "X": windows.numpy(),
        "kappa": column(KAPPA),
        "Xkappa": y,
        "both": f"Both give {y_i(i)} = {inner_product_text(KAPPA, windows[i])}.",
    }


ORACLES = [
    Oracle(
        name="ch01-sliding-window",
        # Fleuret's first, middle and last output; then padding, stride and dilation.
        settings=[{"i": 0}, {"i": 3}, {"i": 6}, {"i": 0, "padding": 1},
                  {"i": 2, "stride": 2, "padding": 1}, {"i": 3, "dilation": 2}],
        expected=sliding_window,
    ),
    Oracle(
        name="ch01-conv-matrix",
        # CS 7643's k=3, s=1, p=1 on four inputs; more padding; stride; dilation.
        settings=[{}, {"padding": 2}, {"n": 7, "k": 4, "stride": 2}, {"n": 6, "dilation": 2}],
        expected=conv_as_matrix,
    ),
    Oracle(
        name="ch01-two-products",
        settings=[{"i": 0}, {"i": 2, "stride": 2}, {"i": 8, "padding": 1},
                  {"i": 1, "dilation": 2, "padding": 1}],
        expected=two_products,
    ),
]
