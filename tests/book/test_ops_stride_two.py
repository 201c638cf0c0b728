"""Chapter 4's helpers and claims (stride 2: not a convolution; zero insertion) against torch.

All in float64 with explicit tolerances; the chapter's claims about the rows of W^T, the
sub-kernels and the zero-inserted input are checked for every shape hypothesis draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import assume, given, settings
from torch_reference import close, conv_transpose1d_matrix, t, transposed_settings

from tconv import ops


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_fractionally_strided_input_then_flipped_conv_is_conv_transpose1d(case):
    kernel, a, stride, padding, output_padding, dilation = case
    expected = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)[0, 0]
    spread = ops.fractionally_strided_input(a, kernel.size, stride, padding, output_padding,
                                            dilation)
    via_torch = F.conv1d(t(spread), t(kernel[::-1].copy()), dilation=dilation)[0, 0]
    close(via_torch, expected, f"conv1d(zero-inserted, flipped) s={stride} p={padding}")
    assert np.count_nonzero(ops.insert_zeros(np.ones(a.size), stride)) == a.size


@pytest.mark.parametrize("k,n,padding", [(3, 4, 1), (3, 8, 1), (2, 6, 0), (4, 9, 2)])
def test_toeplitz_mismatch_is_empty_exactly_for_stride_one(k, n, padding):
    kernel = np.arange(1.0, k + 1)
    for stride in (1, 2, 3):
        Wt = ops.conv_matrix(kernel, n, stride, padding).T
        assert ops.toeplitz_mismatch(Wt).any() == (not ops.is_toeplitz(Wt))
        assert ops.toeplitz_mismatch(Wt).any() == (stride > 1)


def test_toeplitz_mismatch_marks_the_breaking_entry():
    M = np.array([[1, 2, 0], [0, 1, 5]])
    assert ops.toeplitz_mismatch(M).tolist() == [[False, False, False], [False, False, True]]


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_transpose_is_toeplitz_times_zero_insertion(case):
    """W^T = T S: the flipped kernel's stride-1 convolution T after the zero insertion S."""
    kernel, a, stride, padding, output_padding, dilation = case
    S = ops.zero_insertion_matrix(a.size, kernel.size, stride, padding, output_padding, dilation)
    close(S @ a, ops.fractionally_strided_input(a, kernel.size, stride, padding,
                                                 output_padding, dilation), "S a")
    assert set(np.unique(S)) <= {0.0, 1.0} and (S.sum(axis=0) <= 1).all()
    T = ops.conv_matrix(kernel[::-1], S.shape[0], dilation=dilation)
    Wt = conv_transpose1d_matrix(kernel, a.size, stride, padding, output_padding, dilation)
    close(T @ S, Wt, f"T S vs conv_transpose1d's matrix (s={stride}, p={padding})")
    assert ops.is_toeplitz(T)


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_rows_repeat_every_stride_rows_one_column_right(case):
    """W^T[u + s, i + 1] == W^T[u, i]: the pattern repeats only every s rows."""
    kernel, a, stride, padding, output_padding, dilation = case
    Wt = conv_transpose1d_matrix(kernel, a.size, stride, padding, output_padding, dilation)
    close(Wt[stride:, 1:], Wt[:-stride, :-1], "shifted by s rows and one column")


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_output_u_is_sub_kernel_c_at_position_q(case):
    """(W^T a)_u = stride-1 conv_transpose1d(a, kernel[c::s])[q] with q s + c = u + p (d = 1)."""
    kernel, a, stride, padding, output_padding, _ = case
    output_padding %= stride  # d = 1 here, so only output_padding < s is allowed
    assume(ops.transposed_output_size(a.size, kernel.size, stride, padding, output_padding) >= 1)
    whole = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                               output_padding=output_padding)[0, 0].numpy()
    for u, value in enumerate(whole):
        q, c = divmod(u + padding, stride)
        sub = kernel[c::stride]
        full = F.conv_transpose1d(t(a), t(sub))[0, 0].numpy() if sub.size else np.zeros(0)
        expected = full[q] if q < full.size else 0.0  # past the stamps: nothing written
        assert abs(value - expected) <= 1e-10, (u, c, q, value, expected)


def test_output_padding_is_appended_before_cropping():
    """p > d(k-1) with output_padding: the right end is cropped by p - d(k-1) - o, not p - d(k-1).

    Cropping first and then appending zeros would replace the last input by a zero.
    """
    a, kernel = np.array([1.0, 2.0, 3.0]), np.array([1.0, -2.0])
    stride, padding, output_padding = 2, 2, 1
    torch_out = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                                   output_padding=output_padding)[0, 0].numpy()
    close(ops.conv_transpose1d_via_zeros(a, kernel, stride, padding, output_padding), torch_out,
          "append, then crop")
    crop = ops.flipped_padding(kernel.size, padding)  # -1: crop one from each end
    crop_first = np.pad(ops.insert_zeros(a, stride)[-crop:crop], (0, output_padding))
    crop_then_append = ops.conv1d(crop_first, kernel[::-1])
    assert crop_then_append.shape == torch_out.shape
    assert not np.allclose(crop_then_append, torch_out)
