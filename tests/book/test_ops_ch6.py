"""Chapter 6's claims (2D and 3D) and its tconv.ops helpers, against torch in float64.

Every claim is checked on the shapes hypothesis draws, with per-axis settings and 1, 2 or 3
spatial axes, not only on the lecture's 2×2 → 4×4 example.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import close, t

from tconv import ops

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@st.composite
def nd_transposed_case(draw, max_ndim=3):
    """A random one-channel transposed convolution torch accepts, with settings per axis."""
    ndim = draw(st.integers(1, max_ndim))
    axis = st.tuples(*[st.integers(1, 3)] * ndim)
    kernel_shape, stride, dilation = draw(axis), draw(axis), draw(axis)
    padding = draw(st.tuples(*[st.integers(0, 2)] * ndim))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation, strict=True))
    in_shape = draw(st.tuples(*[st.integers(1, 3)] * ndim))
    out_shape = ops.transposed_output_shape(in_shape, kernel_shape, stride, padding,
                                            output_padding, dilation)
    assume(min(out_shape) >= 1)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.normal(size=in_shape), rng.normal(size=kernel_shape), stride, padding,
            output_padding, dilation)


def torch_transposed(a, kernel, stride, padding, output_padding, dilation) -> np.ndarray:
    return CONV_T[kernel.ndim](t(a), t(kernel), stride=stride, padding=padding,
                               output_padding=output_padding, dilation=dilation)[0, 0].numpy()


@settings(max_examples=200, deadline=None)
@given(nd_transposed_case())
def test_conv_transpose_nd_is_torch_conv_transpose(case):
    a, kernel, stride, padding, output_padding, dilation = case
    expected = torch_transposed(*case)
    assert ops.transposed_output_shape(a.shape, kernel.shape, stride, padding, output_padding,
                                       dilation) == expected.shape
    close(ops.conv_transpose_nd(*case), expected,
          f"{kernel.ndim}D s={stride} p={padding} op={output_padding} d={dilation}")


@settings(max_examples=200, deadline=None)
@given(nd_transposed_case())
def test_conv_matrix_nd_times_flattened_x_is_torch_conv(case):
    """W vec(x) = vec(conv(x)), flattening row by row, on the transposed case's long side."""
    a, kernel, stride, padding, _, dilation = case
    long_shape = torch_transposed(*case).shape
    x = np.random.default_rng(int(a.size)).normal(size=long_shape)
    expected = CONV[kernel.ndim](t(x), t(kernel), stride=stride, padding=padding,
                                 dilation=dilation)[0, 0].numpy()
    W = ops.conv_matrix_nd(kernel, long_shape, stride, padding, dilation)
    assert W.shape == (expected.size, x.size)
    close(W @ x.ravel(), expected.ravel(), f"W vec(x) in {kernel.ndim}D")


@settings(max_examples=150, deadline=None)
@given(nd_transposed_case(max_ndim=2))
def test_each_column_of_w_transposed_is_the_stamp_of_one_input_pixel(case):
    """Column i of Wᵀ, reshaped, is torch's transposed convolution of the unit image e_i."""
    a, kernel, stride, padding, output_padding, dilation = case
    long_shape = torch_transposed(*case).shape
    W = ops.conv_matrix_nd(kernel, long_shape, stride, padding, dilation, out_shape=a.shape)
    for i, unit in enumerate(np.eye(a.size)):
        stamp = torch_transposed(unit.reshape(a.shape), kernel, stride, padding, output_padding,
                                 dilation)
        close(W.T[:, i].reshape(long_shape), stamp, f"column {i} of Wᵀ")


@settings(max_examples=100, deadline=None)
@given(nd_transposed_case())
def test_nonzeros_of_w_are_the_product_of_the_axes_counts(case):
    """W is a sum of Kronecker products, so its band has (band of axis 1) × (axis 2) × ... cells."""
    a, kernel, stride, padding, output_padding, dilation = case
    long_shape = torch_transposed(*case).shape
    ones_kernel = np.ones(kernel.shape)
    # torch's matrix, column by column: the response of conv_transpose to each unit input
    columns = [torch_transposed(unit.reshape(a.shape), ones_kernel, stride, padding,
                                output_padding, dilation).ravel() for unit in np.eye(a.size)]
    per_axis = [np.count_nonzero(ops.conv_matrix(np.ones(k), n, s, p, d, out_size=m))
                for k, n, s, p, d, m in zip(kernel.shape, long_shape, stride, padding, dilation,
                                            a.shape, strict=True)]
    assert np.count_nonzero(np.stack(columns)) == np.prod(per_axis)


@given(st.integers(1, 8))
def test_padding_and_output_padding_s_minus_1_keep_the_lectures_shapes(stride):
    """The explorer's claim: with p = o = s - 1, 4 × 4 convolves to 2 × 2 and comes back."""
    padding = output_padding = stride - 1
    kernel = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    y = F.conv2d(torch.zeros(1, 1, 4, 4, dtype=torch.float64), kernel, stride=stride,
                 padding=padding)
    assert y.shape[-2:] == (2, 2)
    back = F.conv_transpose2d(y, kernel, stride=stride, padding=padding,
                              output_padding=output_padding)
    assert back.shape[-2:] == (4, 4)
    assert ops.conv_matrix_nd(np.ones((3, 3)), (4, 4), stride, padding).shape == (4, 16)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 10_000))
def test_translated_kernels2d_sum_is_uncropped_conv_transpose2d(kh, kw, stride, h, w, seed):
    rng = np.random.default_rng(seed)
    a, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    stamps = ops.translated_kernels2d(a, kernel, stride)
    expected = F.conv_transpose2d(t(a), t(kernel), stride=stride)[0, 0]
    close(stamps.sum(axis=(0, 1)), expected, "sum of 2D stamps")
    ones = ops.translated_kernels2d(np.ones((h, w)), np.ones((kh, kw)), stride)
    counts = F.conv_transpose2d(t(np.ones((h, w))), t(np.ones((kh, kw))), stride=stride)[0, 0]
    close((ones != 0).sum(axis=(0, 1)), counts, "overlap counts")


def test_lecture_2d_crop_is_torch_padding_one_output_padding_one():
    """Padding 1 with output_padding 1 drops the canvas's first row and column, nothing else."""
    rng = np.random.default_rng(1)
    a, kernel = rng.normal(size=(2, 2)), rng.normal(size=(3, 3))
    full = ops.translated_kernels2d(a, kernel, 2).sum(axis=(0, 1))
    expected = F.conv_transpose2d(t(a), t(kernel), stride=2, padding=1, output_padding=1)[0, 0]
    assert full.shape == (5, 5)
    close(full[1:, 1:], expected, "crop the first row and column")
    padding_only = F.conv_transpose2d(t(a), t(kernel), stride=2, padding=1)[0, 0]
    close(full[1:4, 1:4], padding_only, "padding 1 alone: one pixel off every side")
