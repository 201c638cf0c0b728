"""The tconv.ops helpers of chapter 2 (stride-1 transpose = flipped convolution) against torch."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import ATOL, t

from tconv import ops


@st.composite
def stride_one_settings(draw):
    """(kernel, a, padding, dilation) for which a stride-1 transposed convolution has outputs."""
    k = draw(st.integers(1, 5))
    dilation = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 5))
    n = draw(st.integers(1, 9))
    assume(ops.transposed_output_size(n, k, 1, padding, 0, dilation) >= 1)
    floats = st.floats(-5, 5, allow_nan=False, width=32)
    kernel = np.array(draw(st.lists(floats, min_size=k, max_size=k)))
    a = np.array(draw(st.lists(floats, min_size=n, max_size=n)))
    return kernel, a, padding, dilation


def test_flipped_padding_formula():
    assert ops.flipped_padding(3) == 2
    assert ops.flipped_padding(3, padding=1) == 1
    assert ops.flipped_padding(3, padding=1, dilation=2) == 3
    assert ops.flipped_padding(2, padding=4) == -3


@settings(max_examples=300, deadline=None)
@given(stride_one_settings())
def test_flipped_conv_matrix_is_the_transpose(setting):
    kernel, a, padding, dilation = setting
    m = ops.transposed_output_size(a.size, kernel.size, 1, padding, 0, dilation)
    W = ops.conv_matrix(kernel, m, 1, padding, dilation)
    flipped = ops.flipped_conv_matrix(kernel, a.size, padding, dilation)
    assert flipped.shape == W.T.shape
    assert np.array_equal(flipped, W.T)


@settings(max_examples=300, deadline=None)
@given(stride_one_settings())
def test_flipped_conv_matrix_matches_torch(setting):
    """flipped_conv_matrix @ a is F.conv_transpose1d(a); where torch can pad that much, also
    F.conv1d with the flipped kernel and padding d(k-1)-p."""
    kernel, a, padding, dilation = setting
    ours = ops.flipped_conv_matrix(kernel, a.size, padding, dilation) @ a
    transposed = F.conv_transpose1d(t(a), t(kernel), padding=padding, dilation=dilation)[0, 0]
    np.testing.assert_allclose(ours, transposed.numpy(), rtol=0, atol=ATOL)
    pad = ops.flipped_padding(kernel.size, padding, dilation)
    if pad >= 0:
        conv = F.conv1d(t(a), t(kernel[::-1].copy()), padding=pad, dilation=dilation)[0, 0]
        np.testing.assert_allclose(ours, conv.numpy(), rtol=0, atol=ATOL)
