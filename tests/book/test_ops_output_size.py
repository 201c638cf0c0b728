"""Chapter 5's claims about output lengths, padding and output_padding, against torch.

Each claim the chapter makes for all shapes is a hypothesis property here, with torch as the
oracle: the stamps cropped by padding and extended by output_padding are conv_transpose1d; the
floor merges up to s input lengths; output_padding o returns the one with remainder o exactly
when o < s (torch itself accepts o < max(s, d)); the output is s times the input exactly when
d(k-1) + 1 - 2p + o = s.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import (
    close,
    conv1d_length,
    conv1d_matrix,
    conv_transpose1d_length,
    t,
    transposed_settings,
)

from tconv import ops

settings_ints = (st.integers(1, 5), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3),
                 st.integers(1, 6))


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_cropped_stamps_are_conv_transpose1d(case):
    """Output u is stamp position u + p; output_padding past the stamps reads zeros."""
    kernel, a, stride, padding, output_padding, dilation = case
    full = ops.translated_kernels(a, kernel, stride, dilation=dilation).sum(axis=0)
    uncropped = F.conv_transpose1d(t(a), t(kernel), stride=stride, dilation=dilation)[0, 0]
    close(full, uncropped, "sum of the stamps = conv_transpose1d without padding")
    expected = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)[0, 0]
    close(ops.crop_full_output(full, padding, output_padding), expected, "cropped stamps")
    kept = ops.kept_mask(full.size, padding, output_padding)
    assert kept.sum() == expected.shape[-1]
    extended = np.pad(full, (0, kept.size - full.size))
    close(extended[kept], expected, "the kept positions")
    # Given back past the end of the stamps: zero whatever a and the kernel are.
    past = np.flatnonzero(kept)[np.flatnonzero(kept) >= full.size] - padding
    matrix = F.conv_transpose1d(torch.eye(a.size, dtype=torch.float64)[:, None], t(kernel),
                                stride=stride, padding=padding, output_padding=output_padding,
                                dilation=dilation)[:, 0]
    assert not matrix[:, past].any()


@settings(max_examples=300, deadline=None)
@given(*settings_ints)
def test_conv_input_lengths_are_exactly_the_lengths_with_that_output(k, stride, padding,
                                                                     dilation, n_out):
    lengths = ops.conv_input_lengths(n_out, k, stride, padding, dilation)
    kernel = torch.ones(1, 1, k, dtype=torch.float64)
    for n in range(1, 40):
        if n + 2 * padding < dilation * (k - 1) + 1:  # too short: torch refuses, skip the raise
            assert n not in lengths
            continue
        x = torch.zeros(1, 1, n, dtype=torch.float64)
        got = F.conv1d(x, kernel, stride=stride, padding=padding, dilation=dilation).shape[-1]
        assert (got == n_out) == (n in lengths), (n, got, list(lengths))
    assert len(lengths) <= stride


@settings(max_examples=300, deadline=None)
@given(*settings_ints, st.integers(0, 3))
def test_output_padding_picks_a_merged_length_exactly_below_the_stride(k, stride, padding,
                                                                      dilation, m, o):
    """torch accepts o < max(s, d); the result is n0 + o, which conv1d maps to m + o // s."""
    smallest = conv_transpose1d_length(m, k, stride, padding, 0, dilation)
    assume(smallest is not None)
    got = conv_transpose1d_length(m, k, stride, padding, o, dilation)
    assert (got is not None) == (o < max(stride, dilation)), "torch's rule"
    assume(got is not None)
    assert got == smallest + o
    assert conv1d_length(got, k, stride, padding, dilation) == m + o // stride
    merged = [n for n in range(1, smallest + stride + 1)
              if conv1d_length(n, k, stride, padding, dilation) == m]
    assert (got in merged) == (o < stride)
    assert merged == [smallest + r for r in range(stride)]
    assert ops.needed_output_padding(got, k, stride, padding, dilation) == o % stride


@settings(max_examples=200, deadline=None)
@given(transposed_settings())
def test_output_padding_past_the_stride_is_a_convolution_with_outputs_dropped(case):
    """For s <= o < d: W^T a with W the first m rows of conv1d's matrix on the longer length."""
    kernel, a, stride, padding, output_padding, dilation = case
    out = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                             output_padding=output_padding, dilation=dilation)[0, 0]
    W = conv1d_matrix(kernel, out.shape[-1], stride, padding, dilation)
    assert W.shape[0] == a.size + output_padding // stride
    close(W[: a.size].T @ a, out, f"first m rows (o={output_padding}, s={stride}, d={dilation})")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.integers(0, 3), st.integers(1, 2),
       st.integers(0, 2))
def test_exactly_s_times_longer_condition(k, stride, padding, dilation, o):
    lengths = [conv_transpose1d_length(m, k, stride, padding, o, dilation) for m in range(1, 7)]
    doubles = all(n == stride * m for m, n in zip(range(1, 7), lengths, strict=True))
    assert doubles == (dilation * (k - 1) + 1 - 2 * padding + o == stride
                       and o < max(stride, dilation))


@settings(max_examples=100, deadline=None)
@given(*settings_ints)
def test_conv_transpose_layer_offers_only_the_merged_lengths(k, stride, padding, dilation, m):
    smallest = conv_transpose1d_length(m, k, stride, padding, 0, dilation)
    assume(smallest is not None)
    layer = torch.nn.ConvTranspose1d(1, 1, k, stride=stride, padding=padding,
                                     dilation=dilation)
    for wanted in range(max(smallest - 1, 1), smallest + stride + 1):
        if smallest <= wanted < smallest + stride:
            assert layer(torch.zeros(1, 1, m), output_size=[wanted]).shape[-1] == wanted
        else:
            with pytest.raises(ValueError):
                layer(torch.zeros(1, 1, m), output_size=[wanted])


def test_crop_full_output_of_nothing_is_empty():
    assert ops.crop_full_output(np.ones(3), padding=2).size == 0
    assert not ops.kept_mask(3, padding=2).any()
