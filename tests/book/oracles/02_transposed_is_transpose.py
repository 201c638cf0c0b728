"""Torch oracles for the explorers of book/02_transposed_is_transpose.md (see explorer_oracle.py).

Every expected block is computed here with torch in float64: a matrix as the Jacobian of the
torch function it stands for, a vector as that function's output.
"""

import numpy as np
import torch
import torch.nn.functional as F
from explorer_oracle import Oracle


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def conv(kappa, **options):
    """x -> F.conv1d(x, kappa) on 1D tensors."""
    return lambda x: F.conv1d(x[None, None], kappa[None, None], **options)[0, 0]


def conv_transpose(kappa, **options):
    """a -> F.conv_transpose1d(a, kappa) on 1D tensors."""
    return lambda a: F.conv_transpose1d(a[None, None], kappa[None, None], **options)[0, 0]


def matrix_of(f, at: torch.Tensor) -> np.ndarray:
    """The matrix of the linear map f: its Jacobian, by torch autograd."""
    return torch.autograd.functional.jacobian(f, at).numpy()


# The explorers open at the lectures' numbers: Fleuret's a and kernel, the impulse slide's.
FLEURET_A, FLEURET_KAPPA = t([2, 3, 0, -1]), t([1, 2, -1])
IMPULSE_LENGTH, IMPULSE_KAPPA = 7, t([1, 2, 3])
FLIP_A, FLIP_KAPPA = t([2, 3, 0, -1, 1, 2]), t([1, 2, -1, 3])
DECONV_X = t(np.random.default_rng(7).integers(-3, 4, size=6))  # the chapter's random x
DECONV_KAPPAS = [t([1, 2, -1]), t([0, 1, 0]), t([1, 1, 1])]
SHAPE_WORD = {1: "tall", 0: "square", -1: "wide"}  # by the sign of rows - columns


def translated_kernels(i, padding):
    tconv = conv_transpose(FLEURET_KAPPA, padding=padding)
    m = FLEURET_A.numel()
    stamps = torch.stack([tconv(FLEURET_A * (torch.arange(m) == r)) for r in range(m)])
    return {
        "a": FLEURET_A.numpy(),
        "Wt": matrix_of(tconv, FLEURET_A),
        "stamps": stamps.numpy(),
        "partial": stamps[: i + 1].sum(dim=0).numpy(),
        "y": tconv(FLEURET_A).numpy(),
        "caption": f"crops {padding} output(s) from each end",
    }


def impulse_response(j, padding):
    x = torch.eye(IMPULSE_LENGTH, dtype=torch.float64)[j]
    forward = conv(IMPULSE_KAPPA, padding=padding)
    transposed = conv_transpose(IMPULSE_KAPPA, padding=padding)
    return {
        "x": x.numpy(),
        "W": matrix_of(forward, x),
        "conv": forward(x).numpy(),
        "Wt": matrix_of(transposed, x),
        "tconv": transposed(x).numpy(),
        "caption": f"F.conv1d returns {forward(x).numel()} numbers, "
                   f"F.conv_transpose1d {transposed(x).numel()}.",
    }


def transpose_vs_flipped(m, k, padding, dilation):
    a, kappa = FLIP_A[:m], FLIP_KAPPA[:k]
    transposed = conv_transpose(kappa, padding=padding, dilation=dilation)
    try:
        transposed(a)
    except RuntimeError:  # torch finds no output left: say how many outputs the padding crops
        stamps = conv_transpose(kappa, dilation=dilation)(a).numel()
        assert 2 * padding >= stamps
        return {"caption": f"crops {2 * padding} outputs, at least all {stamps} that the stamps "
                           "cover. PyTorch rejects this setting."}
    Wt = matrix_of(transposed, a)
    p_flip = dilation * (k - 1) - padding
    a_tilde = F.pad(a, (p_flip, p_flip))  # a negative pad crops
    flipped_conv = conv(kappa.flip(0), dilation=dilation)
    # the matrix of a -> F.conv1d(a padded by p', flipped kappa), computed on its own
    flipped = matrix_of(lambda v: flipped_conv(F.pad(v, (p_flip, p_flip))), a)
    return {
        "Wt": Wt,
        "flipped": flipped,
        "a": a.numpy(),
        "a_tilde": a_tilde.numpy(),
        "tconv": transposed(a).numpy(),
        "conv": flipped_conv(a_tilde).numpy(),
        "caption": f"Output length n = {transposed(a).numel()}.",
        "check": f"Wᵀ equals the flipped conv matrix: {np.array_equal(Wt, flipped)}",
    }


def pseudo_inverse(kernel_index, padding):
    kappa = DECONV_KAPPAS[kernel_index]
    forward = conv(kappa, padding=padding)
    W = torch.autograd.functional.jacobian(forward, DECONV_X)
    y = forward(DECONV_X)
    orthonormal_columns = torch.allclose(W.T @ W, torch.eye(W.shape[1], dtype=torch.float64))
    transpose_is_pinv = torch.allclose(W.T, torch.linalg.pinv(W))
    return {
        "W": W.numpy(),
        "gram": (W.T @ W).numpy(),
        "x": DECONV_X.numpy(),
        "y": y.numpy(),
        "Wty": conv_transpose(kappa, padding=padding)(y).numpy(),
        "pinv_y": (torch.linalg.pinv(W) @ y).numpy(),
        "caption": f"W is {W.shape[0]}×{W.shape[1]} "
                   f"({SHAPE_WORD[int(np.sign(W.shape[0] - W.shape[1]))]}), "
                   f"rank {int(torch.linalg.matrix_rank(W))}. WᵀW = I: {orthonormal_columns}; "
                   f"Wᵀ = W⁺: {transpose_is_pinv};",
    }


ORACLES = [
    Oracle(
        name="ch02-translated-kernels",
        settings=[{}, {"i": 1}, {"i": 3}, {"i": 2, "padding": 1}, {"i": 0, "padding": 2}],
        expected=translated_kernels,
    ),
    Oracle(
        name="ch02-impulse-response",
        settings=[{}, {"j": 6}, {"j": 0, "padding": 1}, {"j": 3, "padding": 2}],
        expected=impulse_response,
    ),
    Oracle(
        name="ch02-transpose-vs-flipped",
        # the last two: torch rejects them, the padding cropping exactly, or more than, the
        # outputs the stamps cover
        settings=[{}, {"padding": 1}, {"dilation": 2, "padding": 1}, {"m": 6, "k": 4},
                  {"k": 2, "padding": 2}, {"m": 2, "k": 1, "padding": 1},
                  {"m": 1, "k": 1, "padding": 3}],
        expected=transpose_vs_flipped,
    ),
    Oracle(
        name="ch02-pseudo-inverse",
        # (0, 1, 0) at p = 0: W^T = W^+ with W^T W != I; at p = 1, W = I; at p = 2, both hold
        settings=[{}, {"kernel_index": 1, "padding": 0}, {"kernel_index": 1, "padding": 1},
                  {"kernel_index": 1, "padding": 2}, {"kernel_index": 2, "padding": 1}],
        expected=pseudo_inverse,
    ),
]
