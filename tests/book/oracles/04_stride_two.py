"""Torch oracles for the explorers of book/04_stride_two.md."""

import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

A = torch.tensor([2, 3, 0, -1, 1], dtype=torch.float64)
KAPPA = torch.tensor([1, 2, 3, 4], dtype=torch.float64)


def stride_explorer(n, k, stride, padding, output_padding):
    a, kappa = A[:n], KAPPA[:k]

    def transposed(a):
        return F.conv_transpose1d(a[None, None], kappa[None, None], stride=stride,
                                  padding=padding, output_padding=output_padding)[0, 0]

    Wt = torch.autograd.functional.jacobian(transposed, a)
    return {
        f"W ({Wt.shape[1]}×{Wt.shape[0]})": Wt.T.numpy(),
        f"W^T ({Wt.shape[0]}×{n}), outlined: entries that break the Toeplitz pattern": Wt.numpy(),
        "input a": a.numpy(),
        "flipped kernel": kappa.flip(0).numpy(),
        "output W^T a": transposed(a).numpy(),
    }


ORACLES = [
    Oracle(
        name="ch04-stride",
        settings=[{}, {"stride": 3, "output_padding": 2}, {"stride": 1, "output_padding": 0},
                  {"k": 4, "padding": 0}],
        expected=stride_explorer,
    ),
]
