"""Chapter 5's key numbers, recomputed here with torch, appear in its built HTML.

Nothing is copied from the chapter: the shapes and values come from torch layers built with
the same settings the chapter describes, so a chapter that drifts from torch fails here.
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


@pytest.fixture(scope="module")
def page_text(built_site) -> str:
    """The chapter's HTML with tags stripped and entities decoded (what a reader sees)."""
    raw = (built_site / "book" / "08_upsampling.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def shape_text(shape) -> str:
    return str(tuple(shape))


def test_2d_and_3d_transposed_shapes(page_text):
    up2d = nn.ConvTranspose2d(16, 8, kernel_size=(3, 4), stride=2, padding=(1, 1),
                              output_padding=(1, 0))
    up3d = nn.ConvTranspose3d(4, 2, kernel_size=3, stride=(1, 2, 2), padding=1,
                              output_padding=(0, 1, 1))
    with torch.no_grad():
        y2d = up2d(torch.zeros(1, 16, 8, 8))
        y3d = up3d(torch.zeros(1, 4, 4, 6, 6))
    for expected in (shape_text(y2d.shape), shape_text(up2d.weight.shape),
                     shape_text(y3d.shape)):
        assert expected in page_text, f"{expected} missing from chapter 5"


def test_2d_translated_kernels_sum(page_text):
    a = torch.tensor([[1.0, 2], [-1, 3]], dtype=torch.float64)[None, None]
    kernel = torch.tensor([[1.0, 0, -1], [2, 1, 0], [0, 1, 1]], dtype=torch.float64)[None, None]
    full = F.conv_transpose2d(a, kernel, stride=2)[0, 0]
    assert ops.as_text(full) in page_text


def test_tiny_decoder_and_fcn_shapes(page_text):
    decoder = nn.Sequential(*(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
                              for c_in, c_out in [(16, 32), (32, 16), (16, 3)]))
    sizes = [4]
    x = torch.zeros(1, 16, 4, 4)
    with torch.no_grad():
        for layer in decoder:
            x = layer(x)
            sizes.append(x.shape[-1])
    assert " → ".join(f"{s}×{s}" for s in sizes) in page_text
    assert shape_text(x.shape) in page_text
    n_weights = sum(p.numel() for p in decoder.parameters())
    assert str(n_weights) in page_text


def test_checkerboard_counts_and_check_count(page_text):
    ones = torch.ones(1, 1, 4, 4, dtype=torch.float64)
    counts = F.conv_transpose2d(ones, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2)
    interior = counts[0, 0, 2:7, 2:7].numpy()
    assert ", ".join(ops.as_text(v) for v in np.unique(interior)) in page_text  # k=3, s=2
    settings = [(k, s) for k in range(1, 8) for s in range(1, 5)]
    assert f"checked {len(settings)} settings" in page_text
