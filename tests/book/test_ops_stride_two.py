"""The tconv.ops helpers of chapter 3 (stride 2) against torch, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import close, t, transposed_settings

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


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3),
       st.integers(1, 6))
def test_conv_input_lengths_are_exactly_the_lengths_with_that_output(k, stride, padding,
                                                                     dilation, n_out):
    lengths = ops.conv_input_lengths(n_out, k, stride, padding, dilation)
    kernel = torch.ones(1, 1, k, dtype=torch.float64)
    for n in range(1, 40):
        x = torch.zeros(1, 1, n, dtype=torch.float64)
        if n + 2 * padding < dilation * (k - 1) + 1:
            assert n not in lengths
            continue
        got = F.conv1d(x, kernel, stride=stride, padding=padding, dilation=dilation).shape[-1]
        assert (got == n_out) == (n in lengths), (n, got, list(lengths))
    assert len(lengths) <= stride


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3),
       st.integers(1, 6))
def test_output_padding_picks_each_input_length_back(k, stride, padding, dilation, n_out):
    kernel = t(np.ones(k))
    a = t(np.ones(n_out))
    lengths = ops.conv_input_lengths(n_out, k, stride, padding, dilation)
    smallest = (n_out - 1) * stride + dilation * (k - 1) + 1 - 2 * padding
    for n in lengths:
        output_padding = ops.needed_output_padding(n, k, stride, padding, dilation)
        assert output_padding == n - smallest
        assume(output_padding in ops.valid_output_paddings(stride, dilation))
        assume(ops.transposed_output_size(n_out, k, stride, padding, output_padding,
                                          dilation) >= 1)
        back = F.conv_transpose1d(a, kernel, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)
        assert back.shape[-1] == n


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
