"""Torch oracles for the explorers of book/07_backward_pass.md."""

import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

X = torch.tensor([1, 4, -1, 0, 2, -2, 1, 3, 3, 1], dtype=torch.float64)
KAPPA = torch.tensor([1, 2, -1, 3], dtype=torch.float64)


def backward_identity(n, k, stride, padding):
    x = X[:n].clone().requires_grad_(True)
    kappa = KAPPA[:k][None, None]
    y = F.conv1d(x[None, None], kappa, stride=stride, padding=padding)[0, 0]
    (0.5 * (y**2).sum()).backward()  # so that ∂ℓ/∂y = y
    m = y.numel()
    r = n - ((m - 1) * stride - 2 * padding + k)  # the inputs conv_transpose1d would not reach
    title = (f"conv_transpose1d(∂ℓ/∂y, κ, stride={stride}, padding={padding}, "
             f"output_padding={r})")
    return {
        "x": X[:n].numpy(),
        "∂ℓ/∂y = y": y.detach().numpy(),
        "x.grad (torch autograd)": x.grad.numpy(),
        title: x.grad.numpy(),
        "Wᵀ ∂ℓ/∂y": x.grad.numpy(),
    }


ORACLES = [
    Oracle(
        name="ch07-backward-identity",
        settings=[{}, {"stride": 3}, {"stride": 1, "padding": 0},
                  {"n": 5, "k": 4, "stride": 3, "padding": 2}],
        expected=backward_identity,
    ),
]
