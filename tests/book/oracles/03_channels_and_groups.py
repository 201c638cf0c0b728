"""Torch oracles for the explorers of book/03_channels_and_groups.md (see explorer_oracle.py).

The block matrices are torch's Jacobians of F.conv1d and F.conv_transpose1d on flattened
(channels, length) signals; the channel sums are single-channel F.conv_transpose1d calls.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from explorer_oracle import Oracle

BLOCK_N, BLOCK_K = 4, 2
A_CHANNELS = torch.tensor([[2, 3, 0, -1], [1, -1, 2, 0], [0, 2, 1, -2], [-1, 0, 3, 1]],
                          dtype=torch.float64)


def block_kernel(o, c):
    """The chapter's kernel from input channel c to output channel o: (o + 1, -(c + 1))."""
    return [o + 1, -(c + 1)]


def conv_weight(c_in, c_out, groups):
    """(C_out, C_in/groups, k): output o reads the inputs of its group, as torch defines it."""
    per_in, per_out = c_in // groups, c_out // groups
    return torch.tensor([[block_kernel(o, (o // per_out) * per_in + c) for c in range(per_in)]
                         for o in range(c_out)], dtype=torch.float64)


def refusal(layer, c_in, c_out, groups) -> str | None:
    """torch's ValueError message for groups that do not divide the channels (None if fine)."""
    try:
        layer(c_in, c_out, BLOCK_K, groups=groups)
    except ValueError as error:
        return str(error)
    return None


def block_matrix(C_in, C_out, groups, channel):
    message = refusal(nn.Conv1d, C_in, C_out, groups)
    if message:
        return {"caption": f"nn.Conv1d raises ValueError: {message}"}
    weight = conv_weight(C_in, C_out, groups)
    m = BLOCK_N - BLOCK_K + 1

    def conv(x_flat):
        return F.conv1d(x_flat.reshape(1, C_in, BLOCK_N), weight, groups=groups).ravel()

    def conv_transpose(a_flat):
        return F.conv_transpose1d(a_flat.reshape(1, C_out, m), weight, groups=groups).ravel()

    jacobian = torch.autograd.functional.jacobian
    return {
        "weight": weight.reshape(C_out, -1).numpy(),
        "W": jacobian(conv, torch.zeros(C_in * BLOCK_N, dtype=torch.float64)).numpy(),
        "Wt": jacobian(conv_transpose, torch.zeros(C_out * m, dtype=torch.float64)).numpy(),
        "caption": f"nn.Conv1d({C_in}, {C_out}, {BLOCK_K}, groups={groups}).weight has shape "
                   f"{tuple(nn.Conv1d(C_in, C_out, BLOCK_K, groups=groups).weight.shape)}",
    }


def tconv_kernel(c, j):
    """The chapter's kernel from input c to output j of the transposed convolution."""
    return [1 + j, 2 - c, -1]


def sum_over_channels(C_in, C_out, groups, channel, bias):
    message = refusal(nn.ConvTranspose1d, C_in, C_out, groups)
    if message:
        return {"caption": f"nn.ConvTranspose1d raises ValueError: {message}"}
    per_in, per_out = C_in // groups, C_out // groups
    weight = torch.tensor([[tconv_kernel(c, (c // per_in) * per_out + j) for j in range(per_out)]
                           for c in range(C_in)], dtype=torch.float64)
    b = torch.arange(1, C_out + 1, dtype=torch.float64) / 2 if bias else None
    a = A_CHANNELS[:C_in]
    group = channel // per_out
    reads = range(group * per_in, (group + 1) * per_in)
    local = channel - group * per_out
    terms = torch.stack([F.conv_transpose1d(a[c][None, None], weight[c, local][None, None])[0, 0]
                         for c in reads])
    full = F.conv_transpose1d(a[None], weight, b, groups=groups)[0, channel]
    return {
        "a": a.numpy(),
        "kernels": weight[list(reads), local].numpy(),
        "terms": terms.numpy(),
        "sum": full.numpy(),
        "torch": full.numpy(),
        "caption": f"bias[{channel}] = {float(b[channel]):g}." if bias else "no bias.",
    }


ORACLES = [
    Oracle(
        name="ch03-block-matrix",
        settings=[{}, {"groups": 2}, {"channel": 1, "groups": 2},
                  {"C_out": 4, "groups": 2, "channel": 3},
                  {"C_in": 4, "C_out": 4, "groups": 4, "channel": 2}, {"C_in": 3, "C_out": 1},
                  {"C_in": 3, "groups": 2}],
        expected=block_matrix,
    ),
    Oracle(
        name="ch03-sum-over-channels",
        settings=[{}, {"groups": 2, "channel": 1}, {"bias": 1, "channel": 1},
                  {"C_in": 4, "C_out": 4, "groups": 4, "channel": 2, "bias": 1},
                  {"C_in": 4, "C_out": 2, "groups": 2, "channel": 1},
                  {"C_out": 3, "groups": 2}],
        expected=sum_over_channels,
    ),
]
