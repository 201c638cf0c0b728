"""Chapter 3's numbers (channels and groups), recomputed here with torch, appear in its HTML.

Block matrices are torch's Jacobians of F.conv1d on flattened (channels, length) inputs;
shapes and parameter counts come from nn.Conv1d / nn.ConvTranspose1d themselves.
"""

from __future__ import annotations

import numpy as np
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


TINY = 1e-12  # a printed difference of two float64 computations of the same numbers


def constant_diagonals(M: torch.Tensor) -> bool:
    """Toeplitz: every entry equals the one above and to its left."""
    return bool(torch.equal(M[1:, 1:], M[:-1, :-1]))


def test_random_example_toeplitz_whole_and_by_block(page):
    """The chapter's random 2 -> 3 channel W (its weights drawn again from its seed): the whole
    matrix is not Toeplitz, each of its blocks is (stride 1)."""
    weight = torch.tensor(np.random.default_rng(3).integers(-3, 4, size=(3, 2, 3)),
                          dtype=torch.float64)
    W = conv_jacobian(weight, 5)
    m = W.shape[0] // 3
    blocks = [W[o * m : (o + 1) * m, c * 5 : (c + 1) * 5] for o in range(3) for c in range(2)]
    whole, each = constant_diagonals(W), all(constant_diagonals(B) for B in blocks)
    assert (f"ops.is_toeplitz(W) says {whole} ; for every one of its blocks it says {each} ."
            in page.text)


def test_answer_which_inputs_each_output_reads_with_two_groups(page):
    """2 -> 2 channels, groups 2: the input channels output channel o depends on, from the
    Jacobian's non-zero blocks."""
    W = conv_jacobian(torch.ones(2, 1, 2, dtype=torch.float64), 4, groups=2)
    m = W.shape[0] // 2
    reads = [[c for c in range(2) if W[o * m : (o + 1) * m, c * 4 : (c + 1) * 4].any()]
             for o in range(2)]
    assert (f"Output channel 0 reads input channel {', '.join(map(str, reads[0]))} only, "
            f"output 1 reads input {', '.join(map(str, reads[1]))} only" in page.answers[0])


def test_answer_depthwise_weights_and_biases(page):
    full = nn.Conv1d(8, 8, 3)
    assert (f"( {full.weight.numel()} weights and {full.bias.numel()} biases)"
            in page.answers[1])


def test_answer_weight_entry_of_one_output_channel(page):
    """nn.ConvTranspose1d(2, 2, 3, groups=2): the one weight entry output channel 1 depends on,
    by autograd."""
    layer = nn.ConvTranspose1d(2, 2, 3, groups=2, bias=False).double()
    layer(torch.ones(1, 2, 4, dtype=torch.float64))[0, 1].sum().backward()
    [(c, j)] = {(int(c), int(j)) for c, j, _ in torch.nonzero(layer.weight.grad)}
    assert f"through weight[{c}, {j}] (with" in page.answers[3]


def test_groups_tried_are_every_grouping_torch_accepts(page):
    """The transpose check runs 6 -> 12 channels with every groups value nn.Conv1d accepts."""
    accepted = []
    for groups in range(1, 13):
        try:
            nn.Conv1d(6, 12, 3, groups=groups)
        except ValueError:
            continue
        accepted.append(groups)
    assert f"for each number of groups tried ( {', '.join(map(str, accepted))} )" in page.text
