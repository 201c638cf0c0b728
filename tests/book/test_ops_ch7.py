"""Chapter 7's claims about the backward pass, against torch autograd in float64.

test_ops.py already checks the 1D autograd identity and the scalar adjoint test over all
shapes; this file covers what the chapter adds: the terms that make each input gradient (kernel
read in reverse), the signal-processing convolution at stride 1, why output_padding must be the
stride's remainder, the weight gradient X^T g, the entry-by-entry adjoint test and what the
random one misses, the 2D identity with one output padding per axis, and ConvTranspose1d's
forward pass being conv1d's backward pass.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import close, t

from tconv import ops


def autograd_input_grad(x, kernel, grad_y, stride=1, padding=0, dilation=1) -> np.ndarray:
    """dloss/dx of y = conv1d(x) when dloss/dy = grad_y, computed by torch autograd."""
    x_t = t(x).requires_grad_(True)
    y = F.conv1d(x_t, t(kernel), stride=stride, padding=padding, dilation=dilation)
    (grad_x,) = torch.autograd.grad(y, x_t, t(grad_y))
    return grad_x[0, 0].numpy()


@st.composite
def conv_case(draw, max_stride=4, max_dilation=3):
    """Kernel, input, upstream gradient, stride, padding, dilation with a non-empty output."""
    k = draw(st.integers(1, 5))
    stride = draw(st.integers(1, max_stride))
    dilation = draw(st.integers(1, max_dilation))
    padding = draw(st.integers(0, 4))
    n = draw(st.integers(1, 14))
    n_out = ops.conv_output_size(n, k, stride, padding, dilation)
    assume(n_out >= 1)
    floats = st.floats(-5, 5, allow_nan=False, width=32)
    kernel = np.array(draw(st.lists(floats, min_size=k, max_size=k)))
    x = np.array(draw(st.lists(floats, min_size=n, max_size=n)))
    grad_y = np.array(draw(st.lists(floats, min_size=n_out, max_size=n_out)))
    return kernel, x, grad_y, stride, padding, dilation


def test_lecture_example_gradient_is_the_signal_processing_convolution():
    """y = x (correlation) kappa  =>  dl/dx = (dl/dy) * kappa, kernel visited in reverse."""
    x, kernel = [1, 4, -1, 0, 2, -2, 1, 3, 3, 1], [1, 2, 0, -1]
    y = F.conv1d(t(x), t(kernel))[0, 0].numpy()
    grad_x = autograd_input_grad(x, kernel, y)  # loss = ||y||^2 / 2, so dl/dy = y
    close(np.convolve(y, kernel), grad_x, "np.convolve(dl/dy, kernel) vs autograd")
    assert not np.allclose(np.correlate(np.pad(y, 3), kernel), grad_x), \
        "the unflipped kernel (a correlation) must not give the gradient"


@settings(max_examples=150, deadline=None)
@given(conv_case(max_stride=1, max_dilation=1))
def test_stride_one_gradient_is_full_convolution_with_the_kernel(case):
    kernel, x, grad_y, _, padding, _ = case
    grad_x = autograd_input_grad(x, kernel, grad_y, padding=padding)
    full = np.convolve(grad_y, kernel)  # length n + 2p: the padded input's gradient
    close(full[padding : full.size - padding], grad_x, f"cropped np.convolve (p={padding})")


@settings(max_examples=200, deadline=None)
@given(conv_case())
def test_output_padding_is_the_remainder_the_stride_dropped(case):
    """Only output_padding = r gives back length n, and r < stride as torch requires."""
    kernel, x, grad_y, stride, padding, dilation = case
    r = ops.needed_output_padding(x.size, kernel.size, stride, padding, dilation)
    assert 0 <= r < stride
    lengths = {op: ops.transposed_output_size(grad_y.size, kernel.size, stride, padding, op,
                                              dilation)
               for op in ops.valid_output_paddings(stride, dilation)}
    assert [op for op, length in lengths.items() if length == x.size] == [r], lengths
    assert lengths[0] == x.size - r
    grad_x = autograd_input_grad(x, kernel, grad_y, stride, padding, dilation)
    matrix = ops.conv_matrix(kernel, x.size, stride, padding, dilation)
    close(matrix.T @ grad_y, grad_x, f"W.T @ grad_y (s={stride}, p={padding}, d={dilation})")


@settings(max_examples=150, deadline=None)
@given(conv_case())
def test_adjoint_entry_by_entry(case):
    """Column i of conv_transpose1d's matrix (its response to e_i) is row i of W."""
    kernel, x, grad_y, stride, padding, dilation = case
    r = ops.needed_output_padding(x.size, kernel.size, stride, padding, dilation)
    columns = [F.conv_transpose1d(t(e), t(kernel), stride=stride, padding=padding,
                                  output_padding=r, dilation=dilation)[0, 0].numpy()
               for e in np.eye(grad_y.size)]
    W = ops.conv_matrix(kernel, x.size, stride, padding, dilation)
    close(np.stack(columns, axis=1), W.T, "matrix of conv_transpose1d vs W.T")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 9), st.integers(1, 9), st.integers(0, 10_000))
def test_2d_input_gradient_is_conv_transpose2d(kh, kw, stride, padding, h, w, seed):
    assume(ops.conv_output_size(h, kh, stride, padding) >= 1)
    assume(ops.conv_output_size(w, kw, stride, padding) >= 1)
    rng = np.random.default_rng(seed)
    image = t(rng.normal(size=(h, w))).requires_grad_(True)
    kernel = t(rng.normal(size=(kh, kw)))
    out = F.conv2d(image, kernel, stride=stride, padding=padding)
    upstream = torch.tensor(rng.normal(size=out.shape), dtype=torch.float64)
    (grad,) = torch.autograd.grad(out, image, upstream)
    output_padding = (ops.needed_output_padding(h, kh, stride, padding),
                      ops.needed_output_padding(w, kw, stride, padding))
    via_transpose = F.conv_transpose2d(upstream, kernel, stride=stride, padding=padding,
                                       output_padding=output_padding)
    close(via_transpose[0, 0], grad[0, 0], f"conv_transpose2d (op={output_padding})")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.integers(0, 2), st.integers(1, 8),
       st.integers(0, 10_000))
def test_conv_transpose_layer_runs_the_convolution_backward(k, stride, padding, n, seed):
    """nn.ConvTranspose1d(z) equals the backward pass of conv1d (same weights) applied to z."""
    assume(ops.transposed_output_size(n, k, stride, padding) >= 1)
    torch.manual_seed(seed)
    layer = torch.nn.ConvTranspose1d(1, 1, k, stride=stride, padding=padding, bias=False)
    layer = layer.double()
    z = torch.randn(1, 1, n, dtype=torch.float64)
    upsampled = layer(z)
    probe = torch.zeros(1, 1, upsampled.shape[-1], dtype=torch.float64, requires_grad=True)
    conv_out = F.conv1d(probe, layer.weight, stride=stride, padding=padding)
    assert conv_out.shape == z.shape, "the layer's output has the length conv1d maps back to n"
    (backward,) = torch.autograd.grad(conv_out, probe, grad_outputs=z)
    close(upsampled.detach()[0, 0], backward[0, 0], "ConvTranspose1d vs conv1d backward")


@settings(max_examples=200, deadline=None)
@given(conv_case())
def test_input_grad_terms_sum_to_autograd_and_read_the_kernel_in_reverse(case):
    """dl/dx_u = sum of g_i κ_j over ops.input_grad_terms(u); j falls as i rises."""
    kernel, x, grad_y, stride, padding, dilation = case
    grad_x = autograd_input_grad(x, kernel, grad_y, stride, padding, dilation)
    for u in range(x.size):
        terms = ops.input_grad_terms(u, x.size, kernel.size, stride, padding, dilation)
        total = sum(grad_y[i] * kernel[j] for i, j in terms)
        close(np.array([total]), grad_x[u : u + 1], f"terms of dl/dx_{u}")
        assert np.all(np.diff([j for _, j in terms]) < 0), terms


@settings(max_examples=150, deadline=None)
@given(conv_case(max_stride=1, max_dilation=1))
def test_gradient_is_a_correlation_with_the_flipped_kernel_only(case):
    """At stride 1 without padding: np.correlate(g padded by k-1, κ flipped) is x.grad."""
    kernel, x, grad_y, _, _, _ = case
    assume(ops.conv_output_size(x.size, kernel.size) >= 1)
    grad_y = grad_y[: ops.conv_output_size(x.size, kernel.size)]
    grad_x = autograd_input_grad(x, kernel, grad_y)
    padded = np.pad(grad_y, kernel.size - 1)
    close(np.correlate(padded, kernel[::-1]), grad_x, "correlation with the flipped kernel")


@settings(max_examples=200, deadline=None)
@given(conv_case(max_dilation=1))
def test_weight_gradient_is_x_transposed_g_and_a_dilated_correlation(case):
    """dl/dκ = X^T g = conv1d(x̃, g, dilation=s)[:k], and dl/db = sum(g)."""
    kernel, x, grad_y, stride, padding, _ = case
    x_t, kernel_t = t(x).requires_grad_(True), t(kernel).requires_grad_(True)
    bias_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    y = F.conv1d(x_t, kernel_t, bias_t, stride=stride, padding=padding)
    kernel_grad, bias_grad = torch.autograd.grad(y, (kernel_t, bias_t), t(grad_y))
    X = ops.input_matrix(x, kernel.size, stride, padding)
    close(X.T @ grad_y, kernel_grad[0, 0], f"X^T g (s={stride}, p={padding})")
    as_conv = F.conv1d(t(np.pad(x, padding)), t(grad_y), dilation=stride)[0, 0, : kernel.size]
    close(as_conv, kernel_grad[0, 0], "conv1d(x padded, g, dilation=s)")
    close(np.array([grad_y.sum()]), bias_grad, "sum of g")


def crop_from_the_end(a, kernel, stride, padding, output_padding):
    """The chapter's buggy transposed convolution: all 2p cropped positions taken at the end."""
    uncropped = F.conv_transpose1d(t(a), t(kernel), stride=stride,
                                   output_padding=output_padding)[0, 0].numpy()
    return uncropped[: uncropped.size - 2 * padding]


@settings(max_examples=150, deadline=None)
@given(conv_case(max_dilation=1), st.integers(0, 2**32 - 1))
def test_buggy_crop_passes_the_adjoint_test_exactly_when_there_is_no_padding(case, seed):
    kernel, x, _, stride, padding, _ = case
    rng = np.random.default_rng(seed)
    kernel, x = rng.normal(size=kernel.size), rng.normal(size=x.size)
    W = ops.conv_matrix(kernel, x.size, stride, padding)
    assume(np.any(W))  # some tap reads x, so the terms have a size to compare the gap with
    a = rng.normal(size=W.shape[0])
    r = ops.needed_output_padding(x.size, kernel.size, stride, padding)
    back = crop_from_the_end(a, kernel, stride, padding, r)
    assert back.size == x.size
    gap = abs(a @ (W @ x) - back @ x) / (np.abs(a) @ np.abs(W) @ np.abs(x))
    assert (gap <= 1e-12) == (padding == 0), (gap, padding)
