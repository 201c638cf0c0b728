"""tconv.ops (the matrices the chapters derive) against torch, in float64.

Every claim the book makes about W and its transpose is checked here over many shapes with
hypothesis, with an explicit tolerance and the largest difference in the failure message.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import close, conv_settings, t, transposed_settings

from tconv import ops

# --- the lectures' worked examples -------------------------------------------------------


def test_fleuret_convolution_example():
    x, kernel = [1, 4, -1, 0, 2, -2, 1, 3, 3, 1], [1, 2, 0, -1]
    expected = F.conv1d(t(x), t(kernel))[0, 0]
    close(ops.conv1d(x, kernel), expected, "conv1d of Fleuret's example")
    assert ops.as_text(expected) == "9 0 1 3 -5 -3 6"


def test_fleuret_transposed_example():
    a, kernel = [2, 3, 0, -1], [1, 2, -1]
    expected = F.conv_transpose1d(t(a), t(kernel))[0, 0]
    close(ops.conv_transpose1d(a, kernel), expected, "conv_transpose1d of Fleuret's example")
    close(ops.translated_kernels(a, kernel).sum(axis=0), expected, "sum of translated kernels")
    assert ops.as_text(expected) == "2 7 4 -4 -2 1"


def test_impulse_examples():
    x, kernel = [0, 0, 1, 0, 0, 0, 0], [1, 2, 3]
    close(ops.conv1d(x, kernel), F.conv1d(t(x), t(kernel))[0, 0], "conv1d of an impulse")
    close(ops.conv_transpose1d(x, kernel), F.conv_transpose1d(t(x), t(kernel))[0, 0],
          "conv_transpose1d of an impulse")
    assert ops.as_text(ops.conv1d(x, kernel)) == "3 2 1 0 0"
    assert ops.as_text(ops.conv_transpose1d(x, kernel)) == "0 0 1 2 3 0 0 0 0"


def test_lecture_2d_case_two_by_two_to_four_by_four():
    rng = np.random.default_rng(0)
    a, kernel = rng.normal(size=(2, 2)), rng.normal(size=(3, 3))
    expected = F.conv_transpose2d(t(a), t(kernel), stride=2, padding=1, output_padding=1)[0, 0]
    out, full = ops.conv_transpose2d_scatter(a, kernel, stride=2, padding=1, output_padding=1)
    close(out, expected, "2x2 -> 4x4 transposed convolution")
    close(full, F.conv_transpose2d(t(a), t(kernel), stride=2)[0, 0], "uncropped sum")
    assert full.shape == (5, 5) and out.shape == (4, 4)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 3), st.integers(0, 3),
       st.integers(1, 6), st.integers(1, 6))
def test_conv_transpose2d_scatter_matches_torch(k, stride, padding, output_padding, h, w):
    assume(output_padding < stride)
    assume(ops.transposed_output_size(min(h, w), k, stride, padding, output_padding) >= 1)
    rng = np.random.default_rng(k * 1000 + stride * 100 + h * 10 + w)
    a, kernel = rng.normal(size=(h, w)), rng.normal(size=(k, k))
    out, _ = ops.conv_transpose2d_scatter(a, kernel, stride, padding, output_padding)
    expected = F.conv_transpose2d(t(a), t(kernel), stride=stride, padding=padding,
                                  output_padding=output_padding)[0, 0]
    close(out, expected, "conv_transpose2d_scatter")


# --- W and W transposed against torch, over all shapes ------------------------------------


@settings(max_examples=300, deadline=None)
@given(conv_settings())
def test_conv_matrix_times_x_is_conv1d(case):
    kernel, x, stride, padding, dilation = case
    W = ops.conv_matrix(kernel, x.size, stride, padding, dilation)
    expected = F.conv1d(t(x), t(kernel), stride=stride, padding=padding, dilation=dilation)[0, 0]
    close(W @ x, expected, f"W @ x (s={stride}, p={padding}, d={dilation})")
    assert W.shape[0] == ops.conv_output_size(x.size, kernel.size, stride, padding, dilation)


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_transposed_matrix_times_a_is_conv_transpose1d(case):
    kernel, a, stride, padding, output_padding, dilation = case
    expected = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)[0, 0]
    args = (stride, padding, output_padding, dilation)
    what = f"W.T @ a (s={stride}, p={padding}, op={output_padding}, d={dilation})"
    close(ops.conv_transpose1d(a, kernel, *args), expected, what)
    close(ops.translated_kernels(a, kernel, *args).sum(axis=0), expected, "translated kernels")
    n_out = ops.transposed_output_size(a.size, kernel.size, *args)
    assert expected.shape[0] == n_out


@settings(max_examples=300, deadline=None)
@given(transposed_settings())
def test_zero_insertion_then_flipped_convolution(case):
    kernel, a, stride, padding, output_padding, dilation = case
    expected = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)[0, 0]
    close(ops.conv_transpose1d_via_zeros(a, kernel, stride, padding, output_padding, dilation),
          expected, "insert zeros, pad, convolve with the flipped kernel")


@settings(max_examples=200, deadline=None)
@given(conv_settings())
def test_input_matrix_times_kernel_is_conv1d(case):
    kernel, x, stride, padding, dilation = case
    X = ops.input_matrix(x, kernel.size, stride, padding, dilation)
    expected = F.conv1d(t(x), t(kernel), stride=stride, padding=padding, dilation=dilation)[0, 0]
    close(X @ kernel, expected, "X @ kernel")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(0, 4), st.integers(1, 3), st.integers(1, 10))
def test_stride_one_transpose_is_flipped_convolution(k, padding, dilation, n):
    """At stride 1, conv_transpose1d == conv1d with the flipped kernel and padding d(k-1)-p."""
    assume(padding <= dilation * (k - 1))
    assume(ops.transposed_output_size(n, k, 1, padding, 0, dilation) >= 1)
    rng = np.random.default_rng(n * 100 + k * 10 + padding)
    a, kernel = rng.normal(size=n), rng.normal(size=k)
    expected = F.conv_transpose1d(t(a), t(kernel), padding=padding, dilation=dilation)[0, 0]
    flipped = F.conv1d(t(a), t(kernel[::-1].copy()), padding=dilation * (k - 1) - padding,
                       dilation=dilation)[0, 0]
    close(flipped, expected, "flipped-kernel convolution")
    n_out = ops.transposed_output_size(n, k, 1, padding, 0, dilation)
    W = ops.conv_matrix(kernel, n_out, 1, padding, dilation, out_size=n)
    close(W.T, ops.conv_matrix(kernel[::-1], n, 1, dilation * (k - 1) - padding, dilation),
          "W.T is the flipped kernel's conv matrix")


# --- Toeplitz structure ---------------------------------------------------------------------


@pytest.mark.parametrize("k,n,padding", [(3, 4, 1), (3, 8, 1), (2, 6, 0), (4, 9, 2), (5, 10, 2)])
def test_stride_two_transpose_is_not_toeplitz(k, n, padding):
    kernel = np.arange(1.0, k + 1)
    assert ops.is_toeplitz(ops.conv_matrix(kernel, n, 1, padding).T)
    assert not ops.is_toeplitz(ops.conv_matrix(kernel, n, 2, padding).T)


def test_is_toeplitz_can_say_no():
    assert not ops.is_toeplitz(np.array([[1, 2], [3, 4]]))
    assert ops.is_toeplitz(np.array([[1, 2, 0], [0, 1, 2]]))


# --- the backward-pass identity -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(conv_settings(), st.integers(0, 10_000))
def test_input_gradient_is_transposed_convolution(case, seed):
    kernel, x, stride, padding, dilation = case
    x_t = t(x).requires_grad_(True)
    y = F.conv1d(x_t, t(kernel), stride=stride, padding=padding, dilation=dilation)
    grad_y = torch.tensor(np.random.default_rng(seed).normal(size=y.shape), dtype=torch.float64)
    (grad_x,) = torch.autograd.grad(y, x_t, grad_y)
    op = ops.needed_output_padding(x.size, kernel.size, stride, padding, dilation)
    via_torch = F.conv_transpose1d(grad_y, t(kernel), stride=stride, padding=padding,
                                   output_padding=op, dilation=dilation)
    close(via_torch[0, 0], grad_x[0, 0], "conv_transpose1d(grad_y) vs autograd")
    close(ops.conv_transpose1d(grad_y[0, 0], kernel, stride, padding, op, dilation), grad_x[0, 0],
          "ops.conv_transpose1d(grad_y) vs autograd")


@settings(max_examples=200, deadline=None)
@given(conv_settings(), st.integers(0, 10_000))
def test_adjoint_identity(case, seed):
    """The book's W (tconv.ops.conv_matrix) is torch's convolution, and its transpose, taken as a
    matrix, is torch's transposed convolution (with the output_padding that restores x's
    length); so <a, W x> == <W.T a, x> is the identity between torch's two functions."""
    kernel, x, stride, padding, dilation = case
    W = ops.conv_matrix(kernel, x.size, stride, padding, dilation)
    close(W @ x, F.conv1d(t(x), t(kernel), stride=stride, padding=padding,
                          dilation=dilation)[0, 0], "W x vs F.conv1d")
    a = np.random.default_rng(seed).normal(size=W.shape[0])
    op = ops.needed_output_padding(x.size, kernel.size, stride, padding, dilation)
    back = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding, output_padding=op,
                              dilation=dilation)[0, 0]
    close(W.T @ a, back, "W.T a vs F.conv_transpose1d")
    lhs, rhs = float(a @ (W @ x)), float(back.numpy() @ x)
    assert abs(lhs - rhs) <= 1e-9 * (1 + abs(lhs)), f"<a, Wx> = {lhs} but <W.T a, x> = {rhs}"


def test_transposed_is_not_inverse():
    """Why "deconvolution" is a bad name: W.T W is not the identity."""
    W = ops.conv_matrix([1, 2, -1], 8, padding=1)
    assert np.max(np.abs(W.T @ W - np.eye(8))) > 1


def test_overlap_count_is_uneven_exactly_when_stride_does_not_divide_kernel():
    for k in range(1, 7):
        for s in range(1, 5):
            counts = ops.overlap_count(8, k, s)
            interior = counts[k : counts.size - k]
            assert (np.ptp(interior) == 0) == (k % s == 0), (k, s, counts)
