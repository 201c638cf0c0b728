"""What every tconv.ops test needs: torch tensors, a float64 comparison, valid settings.

One copy, imported by the tests/book/test_ops*.py files, so a tolerance or a strategy is
changed in one place.
"""

from __future__ import annotations

import numpy as np
import torch
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
