"""Chapter 5's helpers (overlap maps, nearest upsampling, resize-convolution) against torch.

All comparisons are in float64 with an explicit tolerance; the claims the chapter makes about
uneven overlap are checked for every shape hypothesis draws, not only the ones on the page.
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch_reference import close, t

from tconv import ops


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 7), st.integers(1, 4),
       st.integers(0, 3), st.integers(0, 3))
def test_overlap_count2d_is_torch_transposed_conv_of_ones(h, w, k, stride, padding, out_pad):
    assume(out_pad < stride)
    assume(ops.transposed_output_size(min(h, w), k, stride, padding, out_pad) >= 1)
    expected = F.conv_transpose2d(t(np.ones((h, w))), t(np.ones((k, k))), stride=stride,
                                  padding=padding, output_padding=out_pad)[0, 0]
    close(ops.overlap_count2d(h, w, k, stride, padding, out_pad), expected, "overlap_count2d")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 7), st.integers(1, 4))
def test_overlap_count2d_is_outer_product_of_1d_counts(h, w, k, stride):
    """The all-ones kernel is separable, so the 2D map is the 1D profile times itself."""
    expected = np.outer(ops.overlap_count(h, k, stride), ops.overlap_count(w, k, stride))
    close(ops.overlap_count2d(h, w, k, stride), expected, "outer product of 1D counts")


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 6), st.integers(1, 8), st.integers(1, 4))
def test_transposed_overlap_interior_uneven_exactly_when_stride_does_not_divide_k(n, k, s):
    """Away from the borders (outputs every input could reach) counts vary iff k mod s != 0."""
    n = max(n, -(-(k - 1) // s) + 2)  # long enough that the interior holds a full period
    counts = ops.overlap_count2d(n, n, k, s)
    interior = counts[k - 1 : (n - 1) * s + 1, k - 1 : (n - 1) * s + 1]
    assert interior.size >= s * s
    assert (np.ptp(interior) == 0) == (k % s == 0), (k, s, interior)
    if k % s == 0:
        assert np.all(interior == (k // s) ** 2)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4))
def test_upsample_nearest_matches_torch_interpolate(ndim, size, scale):
    rng = np.random.default_rng(ndim * 100 + size * 10 + scale)
    a = rng.normal(size=(size,) * ndim)
    expected = F.interpolate(t(a), scale_factor=scale, mode="nearest")[0, 0]
    close(ops.upsample_nearest(a, scale), expected, f"upsample_nearest in {ndim}D")


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 5), st.integers(1, 5),
       st.integers(0, 3))
def test_conv2d_matches_torch(h, w, kh, kw, padding):
    assume(h + 2 * padding >= kh and w + 2 * padding >= kw)
    rng = np.random.default_rng(h * 1000 + w * 100 + kh * 10 + kw)
    x, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    expected = F.conv2d(t(x), t(kernel), padding=padding)[0, 0]
    close(ops.conv2d(x, kernel, padding), expected, "conv2d")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 6), st.integers(1, 4),
       st.integers(0, 5))
def test_resize_conv2d_matches_torch(h, w, k, scale, padding):
    assume(min(h, w) * scale + 2 * padding >= k)
    rng = np.random.default_rng(h * 1000 + w * 100 + k * 10 + scale)
    a, kernel = rng.normal(size=(h, w)), rng.normal(size=(k, k))
    up = F.interpolate(t(a), scale_factor=scale, mode="nearest")
    expected = F.conv2d(up, t(kernel), padding=padding)[0, 0]
    close(ops.resize_conv2d(a, kernel, scale, padding), expected, "resize_conv2d")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 4))
def test_resize_conv_overlap_is_uniform_in_the_interior(n, k, scale):
    """With full padding (k - 1) the interior is every output whose k taps all land on pixels."""
    counts = ops.resize_conv2d(np.ones((n, n)), np.ones((k, k)), scale, padding=k - 1)
    assert counts.shape == (n * scale + k - 1,) * 2
    interior = counts[k - 1 : n * scale, k - 1 : n * scale]
    if interior.size:
        assert np.all(interior == k * k), (k, scale, interior)
