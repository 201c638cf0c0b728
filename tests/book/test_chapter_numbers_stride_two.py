"""Chapter 3's key numbers, recomputed here by torch, appear in its built page."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tconv import ops


def t(values) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=float), dtype=torch.float64)[None, None]


def test_stride_two_numbers_are_in_the_page(built_site):
    page = (built_site / "book" / "04_stride_two.html").read_text(encoding="utf-8")

    zeros_example = F.conv_transpose1d(t([2, 3, 0, -1]), t([1, 2, -1]), stride=2, padding=1,
                                       output_padding=1)[0, 0]
    assert ops.as_text(zeros_example) in page

    merged = [n for n in range(1, 12)
              if F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, 3), stride=2,
                          padding=1).shape[-1] == 2]
    assert " and ".join(map(str, merged)) in page

    stride2_transpose = ops.conv_matrix([1.0, 2.0, 3.0], 8, stride=2, padding=1).T
    assert not ops.is_toeplitz(stride2_transpose)
    assert "ops.is_toeplitz(W^T) = False" in page
