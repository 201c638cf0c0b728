"""Chapter 8's numbers, recomputed here with torch in float64, appear in its built page.

Nothing is copied from the chapter: shapes and values come from torch layers and functions built
with the settings the chapter describes, and are looked for in what a reader sees (scripts, and
with them the explorers' precomputed tables, are stripped first), so a chapter that drifts from
torch fails here. Single numbers are looked for inside the phrase that carries them.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tconv import ops

pytestmark = pytest.mark.slow

DTYPE = torch.float64


@pytest.fixture(scope="module")
def page_text(built_site) -> str:
    """The chapter as a reader sees it: no scripts, tags stripped, whitespace collapsed."""
    raw = (built_site / "book" / "08_upsampling.html").read_text(encoding="utf-8")
    no_scripts = re.sub(r"<script\b.*?</script>", " ", raw, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", no_scripts)).split())


def shape_text(shape) -> str:
    return str(tuple(shape))


def ones(*shape) -> torch.Tensor:
    return torch.ones((1, 1, *shape), dtype=DTYPE)


def listed(values, sep=", ") -> str:
    return sep.join(ops.as_text(v) for v in values)


def test_tiny_decoders_and_fcn_shapes(page_text):
    torch.manual_seed(0)
    decoder = nn.Sequential(*(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
                              for c_in, c_out in [(16, 32), (32, 16), (16, 3)]))
    resize = nn.Sequential(*(layer for c_in, c_out in [(16, 32), (32, 16), (16, 3)]
                             for layer in (nn.Upsample(scale_factor=2),
                                           nn.Conv2d(c_in, c_out, 3, padding=1))))
    sub_pixel = nn.Sequential(*(layer for c_in, c_out in [(16, 32), (32, 16), (16, 3)]
                                for layer in (nn.Conv2d(c_in, 4 * c_out, 3, padding=1),
                                              nn.PixelShuffle(2))))
    x = torch.zeros(1, 16, 4, 4)
    sizes = [4]
    with torch.no_grad():
        for layer in decoder:
            x = layer(x)
            sizes.append(x.shape[-1])
        for other in (resize, sub_pixel):
            assert other(torch.zeros(1, 16, 4, 4)).shape == x.shape
    assert " → ".join(f"{s}×{s}" for s in sizes) in page_text
    assert shape_text(x.shape) in page_text
    assert f"latent to a {x.shape[-2]} × {x.shape[-1]} RGB image" in page_text
    for model, phrase in [(decoder, "decoder has {} parameters (weights and biases)"),
                          (resize, "decoder has {} :"),
                          (sub_pixel, "sub-pixel decoder has {} ,")]:
        assert phrase.format(sum(p.numel() for p in model.parameters())) in page_text
    with torch.no_grad():
        fcn_scores = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, 2, 1),
            nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ConvTranspose2d(8, 5, 4, 2, 1),
        )(torch.zeros(1, 3, 32, 32))
    assert f"class scores {shape_text(fcn_scores.shape)}" in page_text
    assert f"shrinks to {shape_text((1, 16, 8, 8))}" in page_text
    labels = fcn_scores.argmax(dim=1)
    assert f"one label per pixel, {shape_text(labels.shape)} ." in page_text


def test_unpooling_then_stride_one_is_a_strided_transposed_convolution(page_text):
    x = torch.tensor([[1.0, 6, 2, 0], [3, 4, 1, 8], [0, 5, 7, 2], [9, 1, 3, 4]],
                     dtype=DTYPE)[None, None]
    pooled = F.max_pool2d(x, 2)
    assert f"pooled values {ops.as_text(pooled)} return" in page_text
    kernel = torch.tensor([[1.0, 0, -1], [2, 1, 0], [0, 1, 1]], dtype=DTYPE)[None, None]
    strided = F.conv_transpose2d(pooled, kernel, stride=2)
    spread = torch.zeros(1, 1, 4, 4, dtype=DTYPE)
    spread[..., ::2, ::2] = pooled
    after = F.conv_transpose2d(spread, kernel)
    h, w = strided.shape[-2:]
    assert torch.equal(after[..., :h, :w], strided)
    assert f"agree on the {h} × {w} output" in page_text
    assert f"version is {after.shape[-2]} × {after.shape[-1]} only" in page_text


def test_checkerboard_counts_and_check_count(page_text):
    ones = torch.ones(1, 1, 4, 4, dtype=torch.float64)
    counts = F.conv_transpose2d(ones, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2)
    interior = counts[0, 0, 2:7, 2:7].numpy()
    assert ", ".join(ops.as_text(v) for v in np.unique(interior)) in page_text  # k=3, s=2
    settings = [(k, s) for k in range(1, 8) for s in range(1, 5)]
    assert f"checked {len(settings)} settings" in page_text


def test_checkerboard_question_and_holes(page_text):
    def interior_values(k, s):
        n = -(-(k - 1) // s) + 3
        counts = F.conv_transpose2d(ones(n, n), ones(k, k), stride=s)[0, 0]
        inside = slice(k - 1, (n - 1) * s + 1)
        return counts[inside, inside].numpy()

    assert f"the interior takes the values {listed(np.unique(interior_values(5, 2)))} :" \
        in page_text
    assert f"every interior pixel gets {listed(np.unique(interior_values(6, 3)))} ." in page_text
    profile = F.conv_transpose1d(ones(9), ones(5), stride=2)[0, 0, 4:17].numpy()
    assert f"phases have {listed(sorted(set(profile), reverse=True), ' and ')} taps" in page_text
    for s in (2, 3):
        one_axis = F.conv_transpose1d(ones(5), ones(1), stride=s)[0, 0, : s].numpy()
        tile = interior_values(1, s)[:s, :s]
        assert f"{int(np.sum(one_axis == 0))} of every {s} at" in page_text
        assert f"{int(np.sum(tile != 0))} in {tile.size}" in page_text


def test_phase_sums_of_the_random_kernels(page_text):
    torch.manual_seed(1)
    weight = torch.randn(1, 1, 3, 3, dtype=DTYPE)
    out = F.conv_transpose2d(ones(8, 8), weight, stride=2, padding=1, output_padding=1)
    tile = out[0, 0, 3:5, 3:5]  # one period of the interior
    sums = [weight[0, 0, i::2, j::2].sum().item() for i in range(2) for j in range(2)]
    assert sorted(np.round(tile.flatten().numpy(), 10)) == sorted(np.round(sums, 10))
    assert f"phase sums {', '.join(f'{v:.2f}' for v in sorted(np.round(sums, 2)))} ," in page_text
    spread = max(sums) - min(sums)
    assert f"phase sum, {spread:.2f} )" in page_text
    assert f"varies by {spread:.2f} across" in page_text
    assert f"at the kernel's sum {weight.sum().item():.2f}" in page_text.replace("’", "'")
    torch.manual_seed(2)
    kernel4 = torch.randn(4, dtype=DTYPE)
    assert (f"phase sums are {kernel4[0::2].sum().item():.2f} and "
            f"{kernel4[1::2].sum().item():.2f}") in page_text


def test_stacked_layers_question(page_text):
    def period(layers):
        combined = ones(1)
        for _ in range(layers):  # the impulse response of the stack is its one kernel
            combined = F.conv_transpose1d(combined, ones(3), stride=2)
        combined = combined[0, 0]
        return np.array([combined[i :: 2**layers].sum().item() for i in range(2**layers)])

    two = period(2)
    assert f"from phase 0 on) the values {ops.as_text(two)} ;" in page_text
    assert f"the distinct counts are {listed(np.unique(two))} ." in page_text
    ratios = [period(layers).max() / period(layers).min() for layers in range(1, 5)]
    assert f"output is {listed(ratios)} times the darkest" in page_text
    assert f"and {listed(np.square(ratios))} times in 2D" in page_text


def test_gradient_question(page_text):
    x = torch.zeros(1, 1, 8, 8, dtype=DTYPE, requires_grad=True)
    F.conv2d(x, ones(3, 3), stride=2, padding=1).sum().backward()
    grad = x.grad[0, 0]
    assert f"takes the values {listed(np.unique(grad[1:-1, 1:-1]))} :" in page_text
    assert (f"{ops.as_text(grad[3, 3])} where both coordinates are odd, "
            f"{ops.as_text(grad[2, 3])} where one is, "
            f"{ops.as_text(grad[2, 2])} where both are even") in page_text


def test_resize_convolution_identity_numbers(page_text):
    a, kernel = [2.0, 3, 0, -1], [1.0, 2, -1]
    resized = F.conv1d(F.interpolate(torch.tensor([[a]], dtype=DTYPE), scale_factor=2),
                       torch.tensor([[kernel]], dtype=DTYPE), padding=1)
    g = F.conv_transpose1d(torch.tensor([[kernel[::-1]]], dtype=DTYPE), ones(2))[0, 0]
    transposed = F.conv_transpose1d(torch.tensor([[a]], dtype=DTYPE), g[None, None], stride=2,
                                    padding=3 - 1 - 1)
    assert torch.allclose(resized, transposed, atol=1e-12)
    assert f"{ops.as_text(g)} , its two phase sums are " \
        f"{ops.as_text(g[0::2].sum())} and {ops.as_text(g[1::2].sum())}" in page_text
    assert f"both sides give {ops.as_text(resized)} with transposed padding 1" in page_text
    # the question: Upsample(2) + Conv2d(3, padding=1) is ConvTranspose2d(4, stride=2, padding=1)
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    tied = nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1).double()
    with torch.no_grad():
        box = ones(2, 2)
        flipped = conv.weight.flip(-2, -1).reshape(6, 1, 3, 3)
        tied.weight.copy_(F.conv_transpose2d(flipped, box).reshape(3, 2, 4, 4).transpose(0, 1))
        tied.bias.copy_(conv.bias)
        x = torch.randn(1, 2, 5, 5, dtype=DTYPE)
        diff = (conv(F.interpolate(x, scale_factor=2)) - tied(x)).abs().max().item()
    assert diff < 1e-12
    assert "Kernel size \\(3 + 2 - 1 =\\) 4 , stride 2, padding \\(3 - 1 - 1 =\\) 1" in page_text
    assert f"with {3 * 3} of its {4 * 4} weights free" in page_text
    shown = re.search(r"The two layers differ by at most (\S+) \.", page_text)
    assert shown and float(shown.group(1)) < 1e-12


def test_bilinear_initialisation_numbers(page_text):
    def triangle(s):
        k = 2 * s - s % 2
        return 1 - (torch.arange(k, dtype=DTYPE) - (k - 1) / 2).abs() / s

    assert f"the 1D kernel is {ops.as_text(triangle(2))} (for" in page_text
    assert f"{triangle(2).numel()} taps for its 2× layers, {triangle(32).numel()} for" \
        in page_text
    kernel = torch.outer(triangle(2), triangle(2))[None, None]
    out = F.conv_transpose2d(ones(4, 4), kernel, stride=2, padding=1)[0, 0]
    interpolated = F.interpolate(ones(4, 4), scale_factor=2, mode="bilinear",
                                 align_corners=False)
    assert torch.allclose(out[1:-1, 1:-1], interpolated[0, 0, 1:-1, 1:-1], atol=1e-12)
    assert f"takes the values {listed(np.unique(out))} , with {ops.as_text(out[0, 3])} along" \
        f" the edges and {ops.as_text(out[0, 0])} in the corners" in page_text


def test_sub_pixel_numbers(page_text):
    # the lecture's 3 x 3 kernel at stride 2: phase kernels kernel[i::2, j::2]
    kernel = torch.arange(1.0, 10.0, dtype=DTYPE).reshape(3, 3)
    sizes = [tuple(kernel[i::2, j::2].shape) for i in range(2) for j in range(2)]
    assert f"phase kernels are {', '.join(f'{h}×{w}' for h, w in sizes)} (" in page_text
    assert f"\\(5 \\cdot 2^2 =\\) {5 * 2**2} output channels" in page_text
    # a 3 x 3 sub-pixel conv with padding 1 at s = 2 is ConvTranspose2d(6, stride 2, padding 2)
    torch.manual_seed(0)
    weight = torch.randn(4, 1, 3, 3, dtype=DTYPE)
    tconv = torch.zeros(1, 1, 6, 6, dtype=DTYPE)
    for i in range(2):
        for j in range(2):
            tconv[0, 0, i::2, j::2] = weight[2 * i + j, 0].flip(-2, -1)
    x = torch.randn(1, 1, 4, 5, dtype=DTYPE)
    assert torch.allclose(F.pixel_shuffle(F.conv2d(x, weight, padding=1), 2),
                          F.conv_transpose2d(x, tconv, stride=2, padding=2), atol=1e-12)
    assert "ConvTranspose2d with kernel 6 and padding 2 , weight for weight" in page_text


def test_checkerboard_interiors_in_prose(page_text):
    """The k = 3 and k = 4 (s = 2) interiors the prose quotes, and the k = 3 counts the stacked
    question starts from, each inside the phrase that carries it."""
    def interior(k, ndim):
        n = -(-(k - 1) // 2) + 3
        conv_t = F.conv_transpose1d if ndim == 1 else F.conv_transpose2d
        out = conv_t(ones(*(n,) * ndim), ones(*(k,) * ndim), stride=2)[0, 0]
        inside = (slice(k - 1, (n - 1) * 2 + 1),) * ndim
        return np.unique(out[inside].numpy())

    k3_1d = listed(interior(3, 1), " and ")
    assert f"the 1D profile alternates between {k3_1d} in the interior" in page_text
    assert f"so the 2D map takes the values {listed(interior(3, 2))} : a checkerboard" \
        in page_text
    assert f"With \\(k = 4\\) , \\(s = 2\\) the interior is {listed(interior(4, 2))} everywhere" \
        in page_text
    assert f"whose interior alternates between the counts {k3_1d} ." in page_text
    assert "one layer with stride \\(2^2 =\\) 4 , so the interior repeats every 4 outputs" \
        in page_text


def test_resize_convolutions_are_flat_inside(page_text):
    """Nearest and bilinear resize-convolutions of a constant image: no spread away from the
    border, whatever the kernel (the chapter's seed-1 kernel here)."""
    torch.manual_seed(1)
    weight = torch.randn(1, 1, 3, 3, dtype=DTYPE)
    spreads = []
    for mode in ("nearest", "bilinear"):
        up = F.interpolate(ones(8, 8), scale_factor=2, mode=mode)
        inner = F.conv2d(up, weight, padding=1)[0, 0, 2:-2, 2:-2]
        spreads.append((inner.max() - inner.min()).item())
    assert max(spreads) < 1e-12
    assert "give a flat interior (spread 0 and 0 )" in page_text


def test_resize_identity_inputs_are_the_ammi_example(page_text):
    """AMMI 9.1's transposed-convolution example: 2 3 0 -1 with kernel 1 2 -1 gives
    2 7 4 -4 -2 1 (the lecture's numbers, recomputed), and the chapter quotes its a and κ."""
    a, kernel = [2.0, 3, 0, -1], [1.0, 2, -1]
    lecture = F.conv_transpose1d(torch.tensor([[a]], dtype=DTYPE),
                                 torch.tensor([[kernel]], dtype=DTYPE))[0, 0]
    assert ops.as_text(lecture) == "2 7 4 -4 -2 1"
    assert f"( \\(a\\) = {ops.as_text(a)} , \\(\\kappa\\) = {ops.as_text(kernel)} )" in page_text
    assert f"(both \\(\\sum_j \\kappa_j =\\) {ops.as_text(sum(kernel))} )" in page_text


def test_bilinear_question_numbers(page_text):
    def triangle(s):
        k = 2 * s - s % 2
        return 1 - (torch.arange(k, dtype=DTYPE) - (k - 1) / 2).abs() / s

    assert f"(for \\(s = 3\\) it is {', '.join(f'{v:.3g}' for v in triangle(3).tolist())} )" \
        in page_text
    sums = [triangle(2)[i::2].sum().item() for i in range(2)]  # per axis: the kernel is separable
    kernel = torch.outer(triangle(2), triangle(2))
    out = F.conv_transpose2d(ones(4, 4), kernel[None, None], stride=2, padding=1)[0, 0]
    interpolated = F.interpolate(ones(4, 4), scale_factor=2, mode="bilinear",
                                 align_corners=False)[0, 0]
    assert (f"The phase sums are {listed(sums, ' and ')} , so the "
            f"{out.shape[0]} × {out.shape[1]} output is "
            f"{listed(np.unique(out[1:-1, 1:-1].numpy()))} everywhere inside") in page_text
    assert f"F.interpolate would give {listed(np.unique(interpolated.numpy()))} there too" \
        in page_text


def test_sub_pixel_question_and_agreement(page_text):
    kernel = torch.ones(3, 3, dtype=DTYPE)
    split = [kernel[i::2, 0].numel() for i in range(2)]
    assert f"taps ( {listed(split, ' and ')} ), so the phase kernels" in page_text
    assert f"(zero-padded to {max(split)}×{max(split)} for one Conv2d )" in page_text
    shown = re.search(r"Both agree to (\S+) and (\S+) :", page_text)
    assert shown and max(float(shown.group(1)), float(shown.group(2))) < 1e-12
