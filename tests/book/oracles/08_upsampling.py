"""Torch oracles for the explorers of book/08_upsampling.md."""

import torch
import torch.nn.functional as F
from explorer_oracle import Oracle


def checkerboard(k, s):
    n = -(-(k - 1) // s) + 3  # the chapter's input size: two full periods inside
    ones = torch.ones(1, 1, n, n, dtype=torch.float64)
    taps = torch.ones(1, 1, k, k, dtype=torch.float64)
    counts = F.conv_transpose2d(ones, taps, stride=s)[0, 0]
    resize = F.conv2d(F.interpolate(ones, scale_factor=s, mode="nearest"), taps,
                      padding=k - 1)[0, 0]
    line = torch.ones(1, 1, n, dtype=torch.float64)
    taps_1d = torch.ones(1, 1, k, dtype=torch.float64)
    return {
        f"transposed conv, stride {s} ({counts.shape[0]}×{counts.shape[1]})": counts.numpy(),
        f"nearest ×{s}, then {k}×{k} conv ({resize.shape[0]}×{resize.shape[1]})":
            resize.numpy(),
        "1D profiles (each 2D map is its profile times itself)": {
            "transposed conv": F.conv_transpose1d(line, taps_1d, stride=s)[0, 0].numpy(),
            "resize-conv": F.conv1d(F.interpolate(line, scale_factor=s, mode="nearest"),
                                    taps_1d, padding=k - 1)[0, 0].numpy(),
        },
    }


ORACLES = [
    Oracle(
        name="ch08-checkerboard",
        settings=[{}, {"k": 4}, {"k": 1, "s": 3}, {"k": 7, "s": 4}],
        expected=checkerboard,
    ),
]
