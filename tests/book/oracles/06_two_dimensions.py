"""What chapter 6's explorers must show, computed here with torch in float64 (never tconv)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from explorer_oracle import Oracle

A = torch.tensor([[1.0, 2.0], [-1.0, 3.0]], dtype=torch.float64)[None, None]
KERNEL = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
PIXEL_INDEX = torch.arange(4).reshape(1, 1, 2, 2)  # the explorer counts a's pixels row by row


def lecture_2d(pixel=0, stride=2, padding=1, output_padding=1):
    """A pixel's stamp, the stamps so far, the overlap counts, the canvas and torch's output."""
    def uncropped(a):
        return F.conv_transpose2d(a, KERNEL, stride=stride)[0, 0].numpy()

    output = F.conv_transpose2d(A, KERNEL, stride=stride, padding=padding,
                                output_padding=output_padding)[0, 0].numpy()
    return {
        "a": A[0, 0].numpy(),
        "kernel": KERNEL[0, 0].numpy(),
        "stamp": uncropped(torch.where(PIXEL_INDEX == pixel, A, 0.0)),
        "partial_sum": uncropped(torch.where(PIXEL_INDEX <= pixel, A, 0.0)),
        "stamps_per_pixel": F.conv_transpose2d(torch.ones_like(A), torch.ones_like(KERNEL),
                                               stride=stride)[0, 0].numpy(),
        # padding 0 crops nothing, so output_padding appends zero rows and columns
        "canvas": F.conv_transpose2d(A, KERNEL, stride=stride,
                                     output_padding=output_padding)[0, 0].numpy(),
        "output": output,
        "caption": (f" = {output.shape[0]}: padding {padding} crops {padding} row(s) and column(s) "
                    f"on every side, output_padding {output_padding} gives back {output_padding} "
                    f"at the bottom and right{beyond_canvas(stride, padding, output_padding)}."),
    }


def beyond_canvas(stride, padding, output_padding):
    """The caption's note on the rows output_padding appends that no stamp reaches (torch's)."""
    reach = F.conv_transpose2d(torch.ones_like(A), torch.ones_like(KERNEL), stride=stride,
                               padding=padding, output_padding=output_padding)[0, 0]
    zero_rows = int((reach.flip(0).cumsum(0).sum(dim=1) == 0).sum())  # trailing all-zero rows
    return f" ({zero_rows} of them zeros beyond the canvas)" if zero_rows else ""


def matrix_view(stride=2, i=0):
    """W is the Jacobian of F.conv2d on a 4 × 4 image; its row i, reshaped, is a's stamp."""
    padding = output_padding = stride - 1
    W = torch.autograd.functional.jacobian(
        lambda x: F.conv2d(x.reshape(1, 1, 4, 4), KERNEL, stride=stride,
                           padding=padding).flatten(),
        torch.zeros(16, dtype=torch.float64))
    return {
        "Wt": W.T.numpy(),
        "stamp": W[i].reshape(4, 4).numpy(),
        "a": A[0, 0].numpy(),
        "output": F.conv_transpose2d(A, KERNEL, stride=stride, padding=padding,
                                     output_padding=output_padding)[0, 0].numpy(),
        "caption": (f"so W is {W.shape[0]} × {W.shape[1]} and Wᵀ is {W.shape[1]} × {W.shape[0]}. "
                    f"Column {i} of Wᵀ (row {i} of W) belongs to pixel a[{i // 2},{i % 2}] and "
                    f"holds {int(torch.count_nonzero(W[i]))} of the 9 taps."),
    }


A3 = torch.tensor([[[1.0, 2.0], [-1.0, 3.0]], [[2.0, -2.0], [1.0, 1.0]]],
                  dtype=torch.float64)[None, None]
# The chapter draws its 3 × 3 × 3 kernel with numpy's seeded generator; the values are data.
KERNEL3 = torch.tensor(np.random.default_rng(3).integers(-2, 3, size=(3, 3, 3)),
                       dtype=torch.float64)[None, None]


def stamps_3d(voxel=7, stride=2):
    """A voxel's stamp (torch's transposed convolution of that voxel alone) and the output."""
    padding = output_padding = stride - 1
    alone = torch.where(torch.arange(8).reshape(A3.shape) == voxel, A3, 0.0)

    def transposed(a):
        return F.conv_transpose3d(a, KERNEL3, stride=stride, padding=padding,
                                  output_padding=output_padding)[0, 0].numpy()

    stamp, out = transposed(alone), transposed(A3)
    ones = torch.ones_like(KERNEL3)
    landed = int(torch.count_nonzero(F.conv_transpose3d(
        (torch.arange(8).reshape(A3.shape) == voxel).double(), ones, stride=stride,
        padding=padding, output_padding=output_padding)))
    shown = {f"a_depth{z}": A3[0, 0, z].numpy() for z in range(2)}
    shown.update({f"stamp_depth{z}": stamp[z] for z in range(stamp.shape[0])})
    shown.update({f"output_depth{z}": out[z] for z in range(out.shape[0])})
    shown["caption"] = f"{landed} of the 27 taps land inside"
    return shown


ORACLES = [
    Oracle(
        name="ch06-lecture-2d",
        settings=[{}, {"pixel": 3}, {"stride": 1, "output_padding": 0, "pixel": 1},
                  {"stride": 3, "padding": 2, "output_padding": 2, "pixel": 2},
                  {"stride": 3, "padding": 1, "output_padding": 2, "pixel": 3},
                  {"padding": 0, "output_padding": 1}],
        expected=lecture_2d,
    ),
    Oracle(
        name="ch06-matrix",
        settings=[{}, {"i": 3}, {"stride": 1, "i": 1}, {"stride": 3, "i": 2}],
        expected=matrix_view,
    ),
    Oracle(
        name="ch06-stamps-3d",
        settings=[{}, {"voxel": 0}, {"voxel": 5, "stride": 1}, {"voxel": 2, "stride": 3}],
        expected=stamps_3d,
    ),
]
