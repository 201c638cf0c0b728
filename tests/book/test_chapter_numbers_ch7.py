"""The numbers chapter 4 shows are on its built page, recomputed here by torch (not copied)."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tconv import ops

pytestmark = pytest.mark.slow


def t(values) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=float), dtype=torch.float64)[None, None]


@pytest.fixture(scope="module")
def page_text(built_site) -> str:
    """The chapter's visible text: tags stripped, entities decoded, whitespace collapsed."""
    raw = (built_site / "book" / "07_backward_pass.html").read_text(encoding="utf-8")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def input_grad(x, kernel, stride=1, padding=0) -> np.ndarray:
    """x.grad for loss = ||conv1d(x)||^2 / 2, the loss the chapter uses."""
    x_t = t(x).requires_grad_(True)
    y = F.conv1d(x_t, t(kernel), stride=stride, padding=padding)
    (0.5 * (y**2).sum()).backward()
    return x_t.grad[0, 0].numpy()


def test_lecture_example_gradient_is_shown(page_text):
    x, kernel = [1, 4, -1, 0, 2, -2, 1, 3, 3, 1], [1, 2, 0, -1]
    grad_y = F.conv1d(t(x), t(kernel))[0, 0].numpy()
    assert ops.as_text(grad_y) in page_text
    assert ops.as_text(input_grad(x, kernel)) in page_text


def test_stride_two_gradient_and_output_padding_are_shown(page_text):
    x, kernel = [1, 4, -1, 0, 2, -2, 1, 3], [1, 2, -1]
    grad = input_grad(x, kernel, stride=2, padding=1)
    r = ops.needed_output_padding(len(x), len(kernel), 2, 1)
    assert ops.as_text(grad) in page_text
    assert f"output_padding={r}" in page_text
    assert f"only {len(x) - r} of {len(x)} entries" in page_text  # the slider's default view


def test_2d_output_padding_and_gan_lengths_are_shown(page_text):
    image = torch.zeros(1, 1, 8, 7)
    out = F.conv2d(image, torch.zeros(1, 1, 3, 3), stride=2, padding=1)
    up = F.conv_transpose2d(out, torch.zeros(1, 1, 3, 3), stride=2, padding=1)
    output_padding = tuple(a - b for a, b in zip(image.shape[2:], up.shape[2:], strict=True))
    assert f"output_padding = {output_padding}" in page_text
    lengths = [5]
    layer = torch.nn.ConvTranspose1d(1, 1, kernel_size=4, stride=2, padding=1)
    for _ in range(3):
        lengths.append(layer(torch.zeros(1, 1, lengths[-1])).shape[-1])
    assert " → ".join(map(str, lengths)) in page_text
