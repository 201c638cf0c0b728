"""Chapter 1's helpers in tconv.ops (windows, W on the padded input, kept taps, symbolic X),
each against torch in float64 over many shapes.
"""

from __future__ import annotations

import numpy as np
import sympy
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_reference import close, conv_settings, t, torch_conv_matrix, torch_windows

from tconv import ops


@settings(max_examples=200, deadline=None)
@given(conv_settings())
def test_window_mask_marks_what_each_output_reads(case):
    kernel, x, stride, padding, dilation = case
    windows = torch_windows(x, kernel.size, stride, padding, dilation)
    padded = np.pad(x, padding)
    for i in range(windows.shape[0]):
        positions = ops.window_positions(i, kernel.size, stride, dilation)
        close(padded[positions], windows[i], f"window of output {i}")
        mask = ops.window_mask(i, x.size, kernel.size, stride, padding, dilation)
        assert mask.shape == padded.shape
        assert list(np.flatnonzero(mask)) == list(positions), f"mask of output {i}"
        close(kernel @ padded[mask], F.conv1d(t(x), t(kernel), stride=stride, padding=padding,
                                              dilation=dilation)[0, 0, i], f"y[{i}]")


@settings(max_examples=200, deadline=None)
@given(conv_settings())
def test_padded_conv_matrix_acts_on_the_padded_input_and_crops_to_w(case):
    kernel, x, stride, padding, dilation = case
    padded_W = ops.padded_conv_matrix(kernel, x.size, stride, padding, dilation)
    expected = F.conv1d(t(x), t(kernel), stride=stride, padding=padding, dilation=dilation)[0, 0]
    close(padded_W @ np.pad(x, padding), expected, "W~ @ padded x")
    close(padded_W, torch_conv_matrix(kernel, x.size + 2 * padding, stride, 0, dilation),
          "W~ is the Jacobian of the unpadded convolution of the padded input")
    close(padded_W[:, padding : padding + x.size],
          ops.conv_matrix(kernel, x.size, stride, padding, dilation), "W~ without padding columns")
    taps = ops.band_mask(kernel.size, x.size + 2 * padding, stride, 0, dilation).sum(axis=1)
    assert (taps == kernel.size).all(), "every row of W~ holds all k taps"


@settings(max_examples=150, deadline=None)
@given(conv_settings())
def test_row_taps_are_the_taps_whose_weight_reaches_row_i_of_the_jacobian(case):
    kernel, x, stride, padding, dilation = case
    k, n = kernel.size, x.size
    reaches = np.stack([torch_conv_matrix(np.eye(k)[j], n, stride, padding, dilation).any(dim=1)
                        for j in range(k)])  # reaches[j, i]: tap j lands on x in row i
    for i in range(reaches.shape[1]):
        assert ops.row_taps(i, k, n, stride, padding, dilation) == list(np.flatnonzero(
            reaches[:, i])), f"row {i} (s={stride}, p={padding}, d={dilation})"


def test_row_taps_of_the_lecture_example_lose_one_tap_at_each_edge():
    """CS 7643's k=3, s=1, p=1 on four inputs: the edge rows keep two taps, not three."""
    assert [ops.row_taps(i, 3, 4, 1, 1) for i in range(4)] == [[1, 2], [0, 1, 2], [0, 1, 2],
                                                               [0, 1]]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 8), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2), st.integers(0, 10_000))
def test_symbolic_input_matrix_is_im2col(k, n, stride, padding, dilation, seed):
    if ops.conv_output_size(n, k, stride, padding, dilation) < 1:
        return
    rng = np.random.default_rng(seed)
    x, kernel = rng.normal(size=n), rng.normal(size=k)
    X_sym = ops.symbolic_input_matrix(f"x_0:{n}", k, stride, padding, dilation)
    values = dict(zip(sympy.symbols(f"x_0:{n}"), x, strict=True))
    X = np.array(X_sym.subs(values), dtype=float)
    close(X, torch_windows(x, k, stride, padding, dilation), "symbolic X with numbers put in")
    expected = F.conv1d(t(x), t(kernel), stride=stride, padding=padding, dilation=dilation)[0, 0]
    close(X @ kernel, expected, "X kappa")
