"""What chapter 4's explorers must show, computed here with torch (float64), never with tconv.

Each expected function takes the explorer's slider values as keywords; a slider a setting does
not name keeps its opening value (the defaults below, the lecture's example).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from explorer_oracle import Oracle


def t(values) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=float), dtype=torch.float64)[None, None]


def conv1d_matrix(kernel, n, stride, padding) -> np.ndarray:
    """conv1d's matrix on length n: its response to each unit input, as columns."""
    eye = torch.eye(n, dtype=torch.float64)[:, None, :]
    return F.conv1d(eye, t(kernel), stride=stride, padding=padding)[:, 0, :].T.numpy()


def stride_rows(n=4, k=3, stride=2, padding=1):
    """ch04-stride: W for the kernel (1, 2, 3, 4) cut to k, and its transpose."""
    W = conv1d_matrix(np.arange(1.0, k + 1), n, stride, padding)
    toeplitz = np.array_equal(W.T[1:, 1:], W.T[:-1, :-1])  # constant diagonals
    return {"W": W, "Wt": W.T, "caption": "a Toeplitz matrix" if toeplitz else "not Toeplitz"}


SLIDE_A = np.array([2.0, 3.0, -1.0])
SLIDE_KERNEL = np.array([1.0, 2.0, -1.0, 3.0])


def sliding_window(k=3, stride=2, padding=1, output_padding=1, u=0):
    """ch04-zero-insertion (settings with padding <= k - 1, so ã is only padded, not cropped)."""
    a, kernel, m = SLIDE_A, SLIDE_KERNEL[:k], SLIDE_A.size
    out = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                             output_padding=output_padding)[0, 0]
    n = out.shape[-1]
    a_tilde = torch.zeros(n + k - 1, dtype=torch.float64)  # a valid conv of L gives L - k + 1
    a_tilde[k - 1 - padding + stride * torch.arange(m)] = torch.tensor(a)
    assert torch.allclose(F.conv1d(a_tilde[None, None], t(kernel[::-1].copy()))[0, 0], out)
    window = torch.zeros_like(a_tilde)
    window[u : u + k] = torch.tensor(kernel[::-1].copy())
    return {"conv": out.numpy(), "Wta": out.numpy(),
            "slide": torch.stack([a_tilde, window]).numpy(),
            "sum": f"= {float(out[u]) + 0:g}; the window holds"}


ORACLES = [
    Oracle(
        name="ch04-stride",
        settings=[{}, {"stride": 1}, {"n": 8, "k": 2, "stride": 3, "padding": 0}],
        expected=stride_rows,
    ),
    Oracle(
        name="ch04-zero-insertion",
        settings=[{}, {"u": 3}, {"stride": 3, "output_padding": 0, "u": 2},
                  {"k": 4, "padding": 0, "output_padding": 0, "u": 5}],
        expected=sliding_window,
    ),
]
