"""Chapter 3's numbers (channels and groups), recomputed here with torch, appear in its HTML.

Block matrices are torch's Jacobians of F.conv1d on flattened (channels, length) inputs;
shapes and parameter counts come from nn.Conv1d / nn.ConvTranspose1d themselves.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from explorer_oracle import ORACLES_DIR, load_module
from page_text import ChapterPage

from tconv import ops

pytestmark = pytest.mark.slow

STEM = "03_channels_and_groups"


def conv_jacobian(weight: torch.Tensor, n: int, groups: int = 1) -> torch.Tensor:
    """W of a grouped F.conv1d on a flattened (C_in, n) input."""
    c_in = weight.shape[1] * groups

    def conv(x_flat):
        return F.conv1d(x_flat.reshape(1, c_in, n), weight, groups=groups).ravel()

    return torch.autograd.functional.jacobian(conv, torch.zeros(c_in * n, dtype=torch.float64))


def nonzero_blocks(W: torch.Tensor, c_out: int, c_in: int) -> int:
    blocks = W.reshape(c_out, W.shape[0] // c_out, c_in, W.shape[1] // c_in)
    return int((blocks != 0).any(dim=3).any(dim=1).sum())


def parameters(layer) -> int:
    return sum(p.numel() for p in layer.parameters())


@pytest.fixture(scope="module")
def page(built_site) -> ChapterPage:
    return ChapterPage.load(built_site, STEM)


def test_symbolic_block_matrices_are_typeset_with_block_lines(page):
    """2 → 2 channels, k = 2, n = 3: W is a 2 × 2 grid of bands, drawn with lines between
    blocks; its transpose has the grid and the blocks transposed."""
    W = conv_jacobian(torch.ones(2, 2, 2, dtype=torch.float64), 3)
    m = W.shape[0] // 2
    assert f"{W.shape[0]} × {W.shape[1]}" in page.text
    assert f"{m} × 3" in page.text
    assert r"\begin{array}{" + "|".join(["c" * 3] * 2) + "}" in page.raw  # W: blocks 3 wide
    assert r"\begin{array}{" + "|".join(["c" * m] * 2) + "}" in page.raw  # W^T: blocks m wide
    assert r"\alpha_{0}" in page.raw and r"\delta_{1}" in page.raw


def test_random_example_shape(page):
    W = conv_jacobian(torch.ones(3, 2, 3, dtype=torch.float64), 5)
    assert f"{W.shape[0]} × {W.shape[1]}" in page.text


def test_answer_nonzero_blocks_with_one_and_two_groups(page):
    ones = torch.ones(2, 2, 2, dtype=torch.float64)
    g1 = nonzero_blocks(conv_jacobian(ones, 4), 2, 2)
    g2 = nonzero_blocks(conv_jacobian(ones[:, :1], 4, groups=2), 2, 2)
    assert f"With one group, {g1} of {2 * 2} blocks" in page.answers[0]
    assert f"With two groups, {g2}" in page.answers[0]


def test_answer_depthwise_parameter_count(page):
    full, depthwise = nn.Conv1d(8, 8, 3), nn.Conv1d(8, 8, 3, groups=8)
    assert f"{parameters(full)} for the full convolution" in page.answers[1]
    assert f"{parameters(depthwise)} for the depthwise one" in page.answers[1]
    assert str(tuple(depthwise.weight.shape)) in page.answers[1]


def test_answer_weight_shapes(page):
    conv, tconv = nn.Conv1d(4, 6, 3, groups=2), nn.ConvTranspose1d(4, 6, 3, groups=2)
    pair = nn.Conv1d(6, 4, 3, groups=2)
    assert tconv.weight.shape == pair.weight.shape
    for layer in (conv, tconv, pair):
        assert str(tuple(layer.weight.shape)) in page.answers[2]


def test_answer_one_output_channel_with_two_groups(page):
    """The explorer's example (its inputs from the oracle module): output channel 1 of the
    2 → 2 transposed convolution with groups 2 reads input channel 1 only."""
    oracle = load_module(ORACLES_DIR / f"{STEM}.py")
    shown = oracle.sum_over_channels(C_in=2, C_out=2, groups=2, channel=1, bias=0)
    assert ops.as_text(shown["torch"]) in page.answers[3]
    assert ops.as_text(shown["a"][1]) in page.answers[3]
    assert ops.as_text(shown["kernels"][0]) in page.answers[3]
    assert "Only input channel 1" in page.answers[3]


def test_fleuret_example_is_channel_zero(page):
    oracle = load_module(ORACLES_DIR / f"{STEM}.py")
    assert ops.as_text(oracle.A_CHANNELS[0]) in page.text
