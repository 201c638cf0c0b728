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


def transposed_length(m, k, stride, padding, output_padding) -> int | None:
    try:
        return F.conv_transpose1d(torch.zeros(1, 1, m), torch.zeros(1, 1, k), stride=stride,
                                  padding=padding, output_padding=output_padding).shape[-1]
    except RuntimeError:
        return None


def sub_kernel_caption(k, stride, padding) -> str:
    """Which taps the rows u of Wᵀ use, by u mod s, read off torch's Wᵀ on an input long enough
    that every class of rows has rows away from the ends; listed by sub-kernel c, whose rows
    are u = c - p (mod s)."""
    Wt = conv1d_matrix(np.arange(1.0, k + 1), 24, stride, padding).T  # entry j + 1 is tap j
    parts = []
    for c in range(stride):
        rows = (c - padding) % stride
        taps = sorted({int(v) - 1 for v in Wt[rows::stride].ravel() if v})
        used = ", ".join(f"κ{j}" for j in taps) if taps else "no tap (all-zero rows)"
        parts.append(f"rows u ≡ {rows} (mod {stride}) use {used}")
    return "Sub-kernels: " + "; ".join(parts)


def stride_rows(n=4, k=3, stride=2, padding=1):
    """ch04-stride: W for the kernel (1, 2, 3, 4) cut to k, and its transpose."""
    W = conv1d_matrix(np.arange(1.0, k + 1), n, stride, padding)
    toeplitz = np.array_equal(W.T[1:, 1:], W.T[:-1, :-1])  # constant diagonals
    m = W.shape[0]
    restore = next(o for o in range(stride) if transposed_length(m, k, stride, padding, o) == n)
    return {"W": W, "Wt": W.T, "caption": "a Toeplitz matrix" if toeplitz else "not Toeplitz",
            "sub-kernels": f"{sub_kernel_caption(k, stride, padding)}. Torch's "
                           f"F.conv_transpose1d of each unit input (output_padding = {restore}) "
                           f"gives the columns of Wᵀ, largest difference 0e+00."}


SLIDE_A = np.array([2.0, 3.0, -1.0])
SLIDE_KERNEL = np.array([1.0, 2.0, -1.0, 3.0])


def sliding_window(k=3, stride=2, padding=1, output_padding=1, u=0):
    """ch04-zero-insertion: ã (padded, or cropped where p > k - 1), the flipped kernel under
    output u, and the output; ã is checked to be what conv1d must read to give torch's
    conv_transpose1d."""
    a, kernel, m = SLIDE_A, SLIDE_KERNEL[:k], SLIDE_A.size
    out = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                             output_padding=output_padding)[0, 0]
    n = out.shape[-1]
    spread = torch.zeros((m - 1) * stride + 1, dtype=torch.float64)
    spread[::stride] = torch.tensor(a)
    left = k - 1 - padding  # negative: F.pad crops
    a_tilde = F.pad(spread, (left, left + output_padding))
    assert a_tilde.numel() == n + k - 1  # a valid conv of length L gives L - k + 1
    assert torch.allclose(F.conv1d(a_tilde[None, None], t(kernel[::-1].copy()))[0, 0], out)
    window = torch.zeros_like(a_tilde)
    window[u : u + k] = torch.tensor(kernel[::-1].copy())
    summary = (f"ã: the {m} inputs with {stride - 1} zero(s) between neighbours "
               f"({spread.numel()} entries), then {left} on the left and "
               f"{left + output_padding} on the right (negative: cropped) = {a_tilde.numel()} "
               f"entries. The flipped kernel fits in {n} positions. Largest difference between "
               f"conv1d(ã, flipped κ), Wᵀ a and F.conv_transpose1d: 0e+00.")
    return {"conv": out.numpy(), "Wta": out.numpy(),
            "slide": torch.stack([a_tilde, window]).numpy(),
            "sum": f"= {float(out[u]) + 0:g}; the window holds", "summary": summary}


ORACLES = [
    Oracle(
        name="ch04-stride",
        settings=[{}, {"stride": 1}, {"n": 8, "k": 2, "stride": 3, "padding": 0},
                  {"k": 4, "stride": 3, "padding": 2}],
        expected=stride_rows,
    ),
    Oracle(
        name="ch04-zero-insertion",
        settings=[{}, {"u": 3}, {"stride": 3, "output_padding": 0, "u": 2},
                  {"k": 4, "padding": 0, "output_padding": 0, "u": 5},
                  # p > k - 1: ã is cropped, not padded, at one end or both
                  {"k": 2, "padding": 2, "output_padding": 1, "u": 0},
                  {"k": 1, "stride": 3, "padding": 1, "output_padding": 2, "u": 1}],
        expected=sliding_window,
    ),
]
