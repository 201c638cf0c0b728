"""Chapter 2's key numbers, recomputed here with torch, appear in its built HTML.

Nothing is copied from the chapter: the values come from torch with the settings the lectures
give, so a chapter that drifts from torch (or stops showing these results) fails here.
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

A = [2.0, 3.0, 0.0, -1.0]
KERNEL = [1.0, 2.0, -1.0]


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)[None, None]


@pytest.fixture(scope="module")
def page_text(built_site) -> str:
    """The chapter's HTML as a reader sees it: tags stripped, entities decoded, spaces collapsed."""
    raw = (built_site / "book" / "02_transposed_is_transpose.html").read_text(encoding="utf-8")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", raw)).split())


def test_worked_example_output(page_text):
    out = F.conv_transpose1d(t(A), t(KERNEL))[0, 0]
    assert ops.as_text(out) in page_text


def test_each_stamp_is_one_input_times_the_kernel(page_text):
    """Stamp i is the transposed convolution of a[i] alone: a[i] * kernel."""
    for i, value in enumerate(A):
        alone = np.zeros(len(A))
        alone[i] = value
        stamp = F.conv_transpose1d(t(alone.tolist()), t(KERNEL))[0, 0]
        segment = stamp[i : i + len(KERNEL)]
        assert ops.as_text(segment) in page_text, f"stamp of a[{i}] missing"


def test_impulse_examples(page_text):
    impulse = t([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    k = t([1.0, 2.0, 3.0])
    assert ops.as_text(F.conv1d(impulse, k)) in page_text
    assert ops.as_text(F.conv_transpose1d(impulse, k)) in page_text


def test_conv_transpose_module(page_text):
    m = nn.ConvTranspose1d(1, 1, kernel_size=3).double()
    with torch.no_grad():
        m.bias.zero_()
        m.weight.copy_(t(KERNEL))
        out = m(t(A))
    assert ops.as_text(out) in page_text
    assert str(tuple(m.weight.shape)) in page_text


def test_lecture_matrix_shapes(page_text):
    """Fleuret's slide: a 3-tap kernel on 7 inputs; W^T has the shape of the Jacobian of
    conv_transpose1d with respect to its input, (7 outputs) × (5 inputs)."""
    x = torch.zeros(1, 1, 7, dtype=torch.float64)
    n_out = F.conv1d(x, t(KERNEL)).shape[-1]
    jac = torch.autograd.functional.jacobian(
        lambda a: F.conv_transpose1d(a, t(KERNEL))[0, 0], torch.zeros(1, 1, n_out,
                                                                     dtype=torch.float64))
    rows, cols = jac.shape[0], jac.shape[-1]
    assert f"{cols} × {rows}" in page_text  # W
    assert f"{rows} × {cols}" in page_text  # W^T
