"""What chapter 7's explorers must show, computed here with torch in float64 (never tconv).

Every explorer differentiates loss = ||conv1d(x, κ)||² / 2 (so g = ∂ℓ/∂y = y); W is the Jacobian
of F.conv1d and X the windows of the padded input, both from torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

LECTURE_X = torch.tensor([1.0, 4, -1, 0, 2, -2, 1, 3, 3, 1], dtype=torch.float64)
LECTURE_KERNEL = torch.tensor([1.0, 2, 0, -1], dtype=torch.float64)
IDENTITY_KERNEL = torch.tensor([1.0, 2, -1, 3], dtype=torch.float64)


def conv(x, kernel, stride, padding):
    return F.conv1d(x[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]


def autograd(x, kernel, stride, padding):
    """(g, x.grad, κ.grad) for loss = ||y||² / 2."""
    x, kernel = x.clone().requires_grad_(True), kernel.clone().requires_grad_(True)
    y = conv(x, kernel, stride, padding)
    (0.5 * (y**2).sum()).backward()
    return y.detach(), x.grad, kernel.grad


def conv_matrix(x, kernel, stride, padding):
    return torch.autograd.functional.jacobian(lambda v: conv(v, kernel, stride, padding), x)


def backward_by_indices(u=1, stride=1, padding=0):
    g, x_grad, _ = autograd(LECTURE_X, LECTURE_KERNEL, stride, padding)
    W = conv_matrix(LECTURE_X, LECTURE_KERNEL, stride, padding)
    return {"W": W.numpy(), "kernel": LECTURE_KERNEL.numpy(), "g": g.numpy(),
            "terms": (g * W[:, u]).numpy(), "x": LECTURE_X.numpy(), "x_grad": x_grad.numpy(),
            "caption": f"autograd: x.grad[{u}] = {x_grad[u].item():g}."}


def backward_identity(n=8, k=3, stride=2, padding=1):
    x, kernel = LECTURE_X[:n], IDENTITY_KERNEL[:k]
    g, x_grad, _ = autograd(x, kernel, stride, padding)
    W = conv_matrix(x, kernel, stride, padding)
    short = F.conv_transpose1d(g[None, None], kernel[None, None], stride=stride,
                               padding=padding)[0, 0]
    r = n - short.numel()
    shown = {
        "Wt": W.T.numpy(), "x": x.numpy(), "g": g.numpy(), "x_grad": x_grad.numpy(),
        "via_transpose": F.conv_transpose1d(g[None, None], kernel[None, None], stride=stride,
                                            padding=padding, output_padding=r)[0, 0].numpy(),
        "via_matrix": (W.T @ g).numpy(),
        "caption": f"so output_padding = {r}.",
    }
    if r:
        shown["short"] = short.numpy()
    return shown


def weight_gradient(j=0, stride=1, padding=0):
    g, _, kernel_grad = autograd(LECTURE_X, LECTURE_KERNEL, stride, padding)
    padded = F.pad(LECTURE_X, (padding, padding))
    X = padded.unfold(0, LECTURE_KERNEL.numel(), stride)  # row i: the window output i reads
    return {"x_padded": padded.numpy(), "X": X.numpy(), "g": g.numpy(),
            "terms": (g * X[:, j]).numpy(), "XT_g": (X.T @ g).numpy(),
            "kernel_grad": kernel_grad.numpy(),
            "caption": f"autograd: κ.grad[{j}] = {kernel_grad[j].item():g}."}


ORACLES = [
    Oracle(
        name="ch07-backward-indices",
        settings=[{}, {"u": 5}, {"u": 4, "stride": 2, "padding": 1},
                  {"u": 9, "stride": 3, "padding": 1}],
        expected=backward_by_indices,
    ),
    Oracle(
        name="ch07-backward-identity",
        settings=[{}, {"n": 7}, {"n": 9, "k": 4, "stride": 3, "padding": 0}, {"stride": 1}],
        expected=backward_identity,
    ),
    Oracle(
        name="ch07-weight-gradient",
        settings=[{}, {"j": 3}, {"j": 1, "stride": 2, "padding": 1},
                  {"j": 0, "stride": 3, "padding": 2}],
        expected=weight_gradient,
    ),
]
