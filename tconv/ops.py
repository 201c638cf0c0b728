"""Single-channel 1D convolution written as matrices, the way the chapters derive it.

Conventions follow PyTorch (``F.conv1d`` is a cross-correlation): output ``i`` of a
convolution with stride ``s``, padding ``p`` and dilation ``d`` reads the padded input at
``i*s + j*d`` for kernel tap ``j``. Everything here is plain numpy, so the same code runs
in the book, in the tests (checked against torch) and in a browser-free widget precompute.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "conv_output_size",
    "transposed_output_size",
    "conv_matrix",
    "input_matrix",
    "conv1d",
    "conv_transpose1d",
    "insert_zeros",
    "valid_output_paddings",
    "is_toeplitz",
]


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Length of ``F.conv1d`` output for an input of length ``n``."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def transposed_output_size(
    n: int, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Length of ``F.conv_transpose1d`` output: (n-1)*s - 2p + d*(k-1) + output_padding + 1."""
    return (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


def valid_output_paddings(stride: int, dilation: int = 1) -> range:
    """The output_padding values torch accepts: smaller than the stride or the dilation."""
    return range(max(stride, dilation))


def conv_matrix(
    kernel, n: int, stride: int = 1, padding: int = 0, dilation: int = 1, out_size: int | None = None
) -> np.ndarray:
    """The matrix W with ``W @ x == F.conv1d(x, kernel, stride, padding, dilation)``.

    Row ``i`` holds the kernel taps at columns ``i*s + j*d - p``; taps that land in the
    zero padding have no column, which is why padding never appears in W itself.
    ``out_size`` lets a transposed convolution ask for extra rows (output_padding):
    those rows are all zero here and become the extra outputs of ``W.T``.
    """
    kernel = np.asarray(kernel, dtype=float)
    rows = conv_output_size(n, kernel.size, stride, padding, dilation) if out_size is None else out_size
    W = np.zeros((max(rows, 0), n), dtype=float)
    for i in range(W.shape[0]):
        for j, tap in enumerate(kernel):
            col = i * stride + j * dilation - padding
            if 0 <= col < n:
                W[i, col] += tap
    return W


def band_mask(k: int, n: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """Boolean mask of the entries of W that a kernel tap lands on (its band)."""
    return conv_matrix(np.arange(1, k + 1), n, stride, padding, dilation) != 0


def input_matrix(x, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """The matrix X with ``X @ kernel == F.conv1d(x, kernel, ...)``: the input as a matrix.

    Row ``i`` is the (padded) window that output ``i`` reads, so the kernel becomes the vector.
    """
    x = np.pad(np.asarray(x, dtype=float), padding)
    rows = conv_output_size(x.size, k, stride, 0, dilation)
    taps = np.arange(k) * dilation
    return np.stack([x[i * stride + taps] for i in range(rows)]) if rows > 0 else np.zeros((0, k))


def conv1d(x, kernel, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """``F.conv1d`` for one channel, computed as ``W @ x``."""
    x = np.asarray(x, dtype=float)
    return conv_matrix(kernel, x.size, stride, padding, dilation) @ x


def conv_transpose1d(
    a, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """``F.conv_transpose1d`` for one channel, computed as ``W.T @ a``.

    W is the matrix of the convolution that maps the transposed convolution's output size
    back to ``len(a)``; that is the whole definition.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    n_out = transposed_output_size(a.size, kernel.size, stride, padding, output_padding, dilation)
    return conv_matrix(kernel, n_out, stride, padding, dilation, out_size=a.size).T @ a


def insert_zeros(a, stride: int) -> np.ndarray:
    """Put ``stride - 1`` zeros between neighbouring entries (the "fractional stride" view)."""
    a = np.asarray(a, dtype=float)
    out = np.zeros((a.size - 1) * stride + 1 if a.size else 0)
    out[::stride] = a
    return out


def is_toeplitz(M: np.ndarray) -> bool:
    """True when every row is the row above shifted right by one (constant diagonals)."""
    M = np.asarray(M)
    return bool(np.array_equal(M[1:, 1:], M[:-1, :-1]))
