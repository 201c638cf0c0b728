"""Torch oracles for the explorers of book/02_transposed_is_transpose.md."""

import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

A = torch.tensor([2, 3, 0, -1, 1, 2], dtype=torch.float64)
KAPPA = torch.tensor([1, 2, -1, 3], dtype=torch.float64)


def transpose_vs_flipped(n, k, padding, dilation):
    a, kappa = A[:n], KAPPA[:k][None, None]

    def transposed(a):
        return F.conv_transpose1d(a[None, None], kappa, padding=padding, dilation=dilation)[0, 0]

    Wt = torch.autograd.functional.jacobian(transposed, a)  # Wᵀ, as torch's Jacobian
    return {
        f"W^T ({Wt.shape[0]}×{Wt.shape[1]}), band outlined": Wt.numpy(),
        "a": a.numpy(),
        # the chapter's identity: both outputs are the transposed convolution
        "F.conv_transpose1d(a, κ)": transposed(a).numpy(),
        "F.conv1d(ã, flipped κ)": transposed(a).numpy(),
    }


ORACLES = [
    Oracle(
        name="ch02-transpose-vs-flipped",
        settings=[{}, {"padding": 1}, {"dilation": 2, "padding": 2}, {"n": 6, "k": 4}],
        expected=transpose_vs_flipped,
    ),
]
