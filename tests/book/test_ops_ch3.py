"""The tconv.ops helpers of chapter 3 (channels and groups as a block matrix) against torch."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import close

from tconv import ops


@st.composite
def grouped_settings(draw):
    """(weight, x, a, stride, padding, dilation, groups): a grouped conv1d and its transpose's
    input, with every length >= 1."""
    groups = draw(st.integers(1, 3))
    per_in, per_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k, stride = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    padding, dilation = draw(st.integers(0, 3)), draw(st.integers(1, 2))
    n = draw(st.integers(1, 9))
    m = ops.conv_output_size(n, k, stride, padding, dilation)
    assume(m >= 1)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weight = rng.normal(size=(per_out * groups, per_in, k))
    x = rng.normal(size=(per_in * groups, n))
    a = rng.normal(size=(per_out * groups, m))
    return weight, x, a, stride, padding, dilation, groups


def batch(values) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=float), dtype=torch.float64)[None]


@settings(max_examples=200, deadline=None)
@given(grouped_settings())
def test_grouped_conv_matrix_is_conv1d(case):
    weight, x, _, stride, padding, dilation, groups = case
    W = ops.grouped_conv_matrix(weight, x.shape[1], stride, padding, dilation, groups)
    expected = F.conv1d(batch(x), torch.tensor(weight), stride=stride, padding=padding,
                        dilation=dilation, groups=groups)[0]
    close(W @ x.ravel(), expected.ravel(), f"W @ x, groups={groups}")


@settings(max_examples=200, deadline=None)
@given(grouped_settings())
def test_transpose_of_grouped_conv_matrix_is_conv_transpose1d(case):
    """W.T with the convolution's own weight tensor is F.conv_transpose1d, asked for length n."""
    weight, x, a, stride, padding, dilation, groups = case
    n, k = x.shape[1], weight.shape[2]
    output_padding = ops.needed_output_padding(n, k, stride, padding, dilation)
    assume(output_padding < max(stride, dilation))  # what torch accepts
    W = ops.grouped_conv_matrix(weight, n, stride, padding, dilation, groups)
    expected = F.conv_transpose1d(batch(a), torch.tensor(weight), stride=stride,
                                  padding=padding, output_padding=output_padding,
                                  dilation=dilation, groups=groups)[0]
    close(W.T @ a.ravel(), expected.ravel(), f"W.T @ a, groups={groups}")


@settings(max_examples=200, deadline=None)
@given(grouped_settings(), st.data())
def test_channel_terms_sum_to_an_output_channel_of_conv_transpose1d(case, data):
    weight, _, a, stride, padding, dilation, groups = case
    output_padding = data.draw(st.integers(0, max(stride, dilation) - 1))
    assume(ops.transposed_output_size(a.shape[1], weight.shape[2], stride, padding,
                                      output_padding, dilation) >= 1)
    c_out = weight.shape[1] * groups  # the transposed convolution's own output channels
    channel = data.draw(st.integers(0, c_out - 1))
    terms = ops.channel_terms(a, weight, channel, stride, padding, output_padding, dilation,
                              groups)
    assert terms.shape[0] == a.shape[0] // groups
    expected = F.conv_transpose1d(batch(a), torch.tensor(weight), stride=stride,
                                  padding=padding, output_padding=output_padding,
                                  dilation=dilation, groups=groups)[0, channel]
    close(terms.sum(axis=0), expected, f"sum of channel_terms, output channel {channel}")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
def test_group_input_channels_are_the_inputs_torch_reads(groups, per_in, per_out):
    """Output o depends on input c exactly when c is in group_input_channels(o): read off the
    non-zero blocks of torch's Jacobian of a grouped conv1d."""
    c_in, c_out, n = per_in * groups, per_out * groups, 3
    weight = torch.ones(c_out, per_in, 2, dtype=torch.float64)

    def conv(x_flat):
        return F.conv1d(x_flat.reshape(1, c_in, n), weight, groups=groups)[0]

    at = torch.zeros(c_in * n, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(conv, at).reshape(c_out, -1, c_in, n)
    reads = (jacobian != 0).any(dim=3).any(dim=1)  # (c_out, c_in)
    for o in range(c_out):
        expected = [c for c in range(c_in) if reads[o, c]]
        assert list(ops.group_input_channels(o, c_in, c_out, groups)) == expected


def test_symbolic_grouped_conv_matrix_is_the_numeric_one():
    """Substituting numbers for the taps gives grouped_conv_matrix, for 1 and 2 groups."""
    rng = np.random.default_rng(0)
    for groups, names in ((1, "alpha beta gamma delta"), (2, "alpha delta")):
        W_sym = ops.symbolic_grouped_conv_matrix(names, 2, k=2, n=3, groups=groups)
        taps = sorted(W_sym.free_symbols, key=str)
        values = dict(zip(taps, rng.normal(size=len(taps)), strict=True))
        weight = np.array([values[sympy.Symbol(f"{name}_{j}")] for name in names.split()
                           for j in range(2)]).reshape(2, -1, 2)
        numeric = np.array(W_sym.subs(values), dtype=float)
        close(numeric, ops.grouped_conv_matrix(weight, 3, groups=groups), f"groups={groups}")


def test_groups_that_do_not_divide_the_channels_are_refused_like_torch():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        torch.nn.Conv1d(3, 2, 2, groups=2)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        ops.group_input_channels(0, 3, 2, 2)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        ops.grouped_conv_matrix(np.ones((3, 1, 2)), 4, groups=2)
    with pytest.raises(ValueError, match="not one of the 2 outputs"):
        ops.group_input_channels(2, 2, 2, 1)
