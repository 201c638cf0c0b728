"""Chapter 8's helpers (overlap maps, phases, resize-convolution, sub-pixel) against torch.

All comparisons are in float64 with an explicit tolerance; the claims the chapter makes about
uneven overlap are checked for every shape hypothesis draws, not only the ones on the page.
"""

from __future__ import annotations

import numpy as np
import torch
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


# --- Chapter 8's phase, stacking, resize-conv, bilinear and sub-pixel helpers ---------------

KERNEL_TAPS = st.floats(-3, 3, allow_nan=False, width=32)
IDENTITY_ATOL = 1e-12  # the resize-conv identity is exact; only rounding may differ


def kernel_of(draw, shape) -> np.ndarray:
    size = int(np.prod(shape))
    return np.array(draw(st.lists(KERNEL_TAPS, min_size=size, max_size=size))).reshape(shape)


def interior(output: np.ndarray, k: int, n: int, s: int) -> tuple[slice, ...]:
    """Per axis, the outputs of a padding-0 transposed conv that every input could reach."""
    return tuple(slice(k - 1, (n - 1) * s + 1) for _ in range(output.ndim))


@settings(max_examples=120, deadline=None)
@given(st.data(), st.integers(1, 2), st.integers(1, 7), st.integers(1, 4))
def test_a_constant_input_shows_the_phase_sums_periodically(data, ndim, k, s):
    """Away from the borders, transposed conv of all-ones = phase sums tiled with period s."""
    kernel = kernel_of(data.draw, (k,) * ndim)
    n = -(-(k - 1) // s) + 3  # the interior holds at least two periods
    conv = F.conv_transpose1d if ndim == 1 else F.conv_transpose2d
    out = conv(t(np.ones((n,) * ndim)), t(kernel), stride=s)[0, 0].numpy()
    inside = interior(out, k, n, s)
    sums = ops.phase_sums(kernel, s)
    expected = sums[np.ix_(*(np.arange(sl.start, sl.stop) % s for sl in inside))]
    close(out[inside], expected, "interior of the transposed conv of ones")


@settings(max_examples=80, deadline=None)
@given(st.data(), st.integers(1, 7), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_phase_kernels_and_pixel_shuffle_rebuild_conv_transpose2d(data, k, s, h, w):
    """Stride-s transposed conv = a stride-1 conv per phase (flipped sub-kernel, full padding),
    interleaved by PixelShuffle, then cropped to the transposed conv's output."""
    kernel = kernel_of(data.draw, (k, k))
    a = kernel_of(data.draw, (h, w))
    padding = data.draw(st.integers(0, k - 1))
    assume(min(h, w) * s - s - 2 * padding + k >= 1)
    phases = ops.phase_kernels(kernel, s)  # (s, s, K, K)
    taps = phases.shape[-1]
    per_phase = [ops.conv2d(a, phases[i, j][::-1, ::-1], padding=taps - 1)
                 for i in range(s) for j in range(s)]
    full = ops.pixel_shuffle(np.stack(per_phase), s)[0]
    expected = F.conv_transpose2d(t(a), t(kernel), stride=s, padding=padding)[0, 0].numpy()
    rows, cols = expected.shape
    close(full[padding : padding + rows, padding : padding + cols], expected, "via PixelShuffle")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3))
def test_pixel_shuffle_matches_torch(channels, h, s):
    rng = np.random.default_rng(channels * 100 + h * 10 + s)
    x = rng.normal(size=(channels * s * s, h, h + 1))
    expected = F.pixel_shuffle(torch.tensor(x)[None], s)[0]
    close(ops.pixel_shuffle(x, s), expected, "pixel_shuffle")


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 4), st.integers(1, 3), st.integers(1, 5))
def test_stacked_layers_are_one_layer_with_stride_s_to_the_l(data, layers, s, n):
    ks = [data.draw(st.integers(1, 5)) for _ in range(layers)]
    kernels = [kernel_of(data.draw, (k,)) for k in ks]
    a = kernel_of(data.draw, (n,))
    stacked = t(a)
    for kernel in kernels:
        stacked = F.conv_transpose1d(stacked, t(kernel), stride=s)
    one = F.conv_transpose1d(t(a), t(ops.stacked_kernel(kernels, s)), stride=s**layers)
    close(stacked[0, 0], one[0, 0], f"{layers} stacked layers")


@settings(max_examples=150, deadline=None)
@given(st.data(), st.integers(1, 2), st.integers(1, 5), st.integers(1, 4), st.integers(1, 5))
def test_resize_convolution_is_a_transposed_convolution(data, ndim, k, s, n):
    """Nearest xs then conv(κ, padding p) == conv_transpose(flip(κ) ∗ 1_s, stride s, padding
    k-1-p), for every kernel and every p from 0 to k-1 (the shapes agree too)."""
    kernel = kernel_of(data.draw, (k,) * ndim)
    a = kernel_of(data.draw, (n,) * ndim)
    padding = data.draw(st.integers(0, k - 1))
    assume(n * s + 2 * padding >= k)
    conv, conv_t = (F.conv1d, F.conv_transpose1d) if ndim == 1 else (F.conv2d, F.conv_transpose2d)
    resized = conv(F.interpolate(t(a), scale_factor=s, mode="nearest"), t(kernel),
                   padding=padding)
    transposed = conv_t(t(a), t(ops.resize_conv_kernel(kernel, s)), stride=s,
                        padding=k - 1 - padding)
    close(transposed[0, 0], resized[0, 0], "resize-conv as a transposed conv")
    assert (transposed - resized).abs().max().item() <= IDENTITY_ATOL  # what the chapter says


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 2), st.integers(1, 6), st.integers(1, 5))
def test_every_phase_sum_of_a_resize_conv_kernel_is_the_kernel_sum(data, ndim, k, s):
    kernel = kernel_of(data.draw, (k,) * ndim)
    sums = ops.phase_sums(ops.resize_conv_kernel(kernel, s), s)
    close(sums, np.full(sums.shape, kernel.sum()), "phase sums of flip(κ) ∗ 1_s")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 2))
def test_bilinear_kernel_phases_sum_to_one(s, ndim):
    """FCN's kernel: every output is a weighted mean of inputs, so constant in, constant out."""
    sums = ops.phase_sums(ops.bilinear_kernel(s, ndim), s)
    close(sums, np.ones(sums.shape), "bilinear phase sums")


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 5))
def test_bilinear_transposed_conv_is_torch_bilinear_except_the_outer_s_half(h, w, s):
    """Stride s, padding s // 2: F.interpolate(bilinear, align_corners=False) everywhere but
    the outer s // 2 rows and columns, where torch clamps to the edge pixel."""
    rng = np.random.default_rng(h * 100 + w * 10 + s)
    a = rng.normal(size=(h, w))
    ours = F.conv_transpose2d(t(a), t(ops.bilinear_kernel(s, 2)), stride=s,
                              padding=s // 2)[0, 0].numpy()
    torch_bilinear = F.interpolate(t(a), scale_factor=s, mode="bilinear",
                                   align_corners=False)[0, 0].numpy()
    assert ours.shape == torch_bilinear.shape == (h * s, w * s)
    edge = s // 2
    inner = (slice(edge, h * s - edge), slice(edge, w * s - edge))
    close(ours[inner], torch_bilinear[inner], "bilinear transposed conv, inside")
    if edge:  # and the border really differs (torch repeats the edge, we read a zero)
        assert np.abs(ours[0] - torch_bilinear[0]).max() > 1e-6 or not a[0].any()
