"""Torch-side helpers for the chapters, which use PyTorch as the oracle of every number.

``tconv.ops`` stays plain numpy (students get it, and the grading sandbox has no torch); what
needs torch lives here, and ``import tconv`` does not import torch until it is used.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["as_torch"]


def as_torch(values) -> torch.Tensor:
    """``values`` as a float64 tensor of shape (1, 1, ...): batch 1, one channel, the shape
    torch's convolution functions take (``F.conv1d(as_torch(x), as_torch(kappa))``).

    Always a new tensor (a flipped ``kappa[::-1]`` needs no ``.copy()``), float64 whatever
    torch's default dtype.
    """
    return torch.tensor(np.array(values, dtype=np.float64))[None, None]
