"""Torch oracles for the explorers of book/01_conv_as_matrix.md (see explorer_oracle.py)."""

import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

X = torch.tensor([1, 4, -1, 0, 2, -2, 1, 3, 3, 1], dtype=torch.float64)
KAPPA = torch.tensor([1, 2, -1, 3], dtype=torch.float64)


def conv_matrix(n, k, stride, padding, dilation):
    """W of the layer, as torch's Jacobian of conv1d with respect to its input."""
    def conv(x):
        return F.conv1d(x[None, None], KAPPA[:k][None, None], stride=stride, padding=padding,
                        dilation=dilation)[0, 0]

    return torch.autograd.functional.jacobian(conv, X[:n])


def conv_as_matrix(n, k, stride, padding, dilation):
    x = X[:n]
    W = conv_matrix(n, k, stride, padding, dilation)
    y = F.conv1d(x[None, None], KAPPA[:k][None, None], stride=stride, padding=padding,
                 dilation=dilation)[0, 0]
    return {
        f"W ({W.shape[0]}×{W.shape[1]}), band outlined": W.numpy(),
        "padded input (padding outlined; W has no column for it)":
            F.pad(x, (padding, padding)).numpy(),
        "x": x.numpy(),
        "y = W x": y.numpy(),
    }


ORACLES = [
    Oracle(
        name="ch01-conv-matrix",
        settings=[{}, {"stride": 2}, {"dilation": 2, "padding": 2},
                  {"n": 4, "k": 4, "stride": 3, "padding": 0}],
        expected=conv_as_matrix,
    ),
]
