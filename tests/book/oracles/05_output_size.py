"""What chapter 5's explorers must show, computed here with torch (float64), never with tconv.

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


CROP_A = np.array([2.0, 3.0, -1.0, 1.0])
CROP_KERNEL = np.array([1.0, 2.0, -1.0, 3.0])


def cropping(m=2, k=3, stride=2, padding=1, output_padding=1):
    """ch05-crop: the stamps a_i κ, their sum extended past its end, and the output."""
    a, kernel = CROP_A[:m], CROP_KERNEL[:k]
    stamps = torch.stack([F.conv_transpose1d(t(a * e), t(kernel), stride=stride)[0, 0]
                          for e in np.eye(m)])
    extend = max(output_padding - padding, 0)  # output_padding reaching past the stamps
    stamps = F.pad(stamps, (0, extend))
    out = F.conv_transpose1d(t(a), t(kernel), stride=stride, padding=padding,
                             output_padding=output_padding)[0, 0]
    n = out.shape[-1]
    verdict = f"exactly {stride} × m" if n == stride * m else f"not {stride} × m"
    return {"stamps": stamps.numpy(), "full": stamps.sum(dim=0).numpy(), "out": out.numpy(),
            "caption": f"= {n}, {verdict}"}


LENGTHS = range(1, 21)


def conv_length(n, k, stride, padding, dilation) -> int:
    try:
        return F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=stride,
                        padding=padding, dilation=dilation).shape[-1]
    except RuntimeError:  # shorter than the dilated kernel: shown as 0
        return 0


def transposed_length(m, k, stride, padding, output_padding, dilation) -> int | None:
    try:
        return F.conv_transpose1d(torch.zeros(1, 1, m), torch.zeros(1, 1, k), stride=stride,
                                  padding=padding, output_padding=output_padding,
                                  dilation=dilation).shape[-1]
    except RuntimeError:  # output_padding too large, or nothing left after cropping
        return None


def merged_caption(m, k, stride, padding, dilation) -> str:
    """The input lengths conv1d maps to m, and for each the output_padding that gives it back
    (the remainder r the floor drops)."""
    merged = [n for n in LENGTHS if conv_length(n, k, stride, padding, dilation) == m]
    if not merged:
        return f"No input length maps to m = {m}"
    drops = [next(o for o in range(stride)
                  if transposed_length(m, k, stride, padding, o, dilation) == n) for n in merged]
    return (f"conv1d maps n = {', '.join(map(str, merged))} to m = {m}: "
            f"the floor drops r = {', '.join(map(str, drops))}.")


def output_size(m=2, k=3, stride=2, padding=1, dilation=1, output_padding=0):
    """ch05-output-size: conv1d's length for each n, conv_transpose1d's for each accepted o."""
    lengths = [[n for n in LENGTHS],
               [conv_length(n, k, stride, padding, dilation) for n in LENGTHS]]
    back = [(o, n) for o in range(max(stride, dilation))
            if (n := transposed_length(m, k, stride, padding, o, dilation)) is not None]
    chosen = dict(back).get(output_padding)
    if chosen is None:
        verdict = "PyTorch refuses it"
    elif output_padding < stride:
        verdict = f"gives n = {chosen}"
    else:  # accepted because it is below the dilation, but not one of the merged lengths
        verdict = (f"conv1d maps {chosen} to {conv_length(chosen, k, stride, padding, dilation)}"
                   f", not {m}")
    return {"lengths": np.array(lengths), "back": np.array(back).T, "verdict": verdict,
            "merged": merged_caption(m, k, stride, padding, dilation)}


ORACLES = [
    Oracle(
        name="ch05-crop",
        settings=[{}, {"output_padding": 0}, {"m": 3, "padding": 0}, {"k": 4, "stride": 3}],
        expected=cropping,
    ),
    Oracle(
        name="ch05-output-size",
        settings=[{}, {"m": 3}, {"stride": 3},
                  {"m": 4, "stride": 1, "padding": 0, "dilation": 2, "output_padding": 1}],
        expected=output_size,
    ),
]
