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
    "band_mask",
    "tap_matrices",
    "symbolic_conv_matrix",
    "translated_kernels",
    "conv_transpose1d_via_zeros",
    "needed_output_padding",
    "overlap_count",
    "conv_transpose2d_scatter",
    "as_text",
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
    kernel,
    n: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    out_size: int | None = None,
) -> np.ndarray:
    """The matrix W with ``W @ x == F.conv1d(x, kernel, stride, padding, dilation)``.

    Row ``i`` holds the kernel taps at columns ``i*s + j*d - p``; taps that land in the
    zero padding have no column, which is why padding never appears in W itself.
    ``out_size`` lets a transposed convolution ask for extra rows (output_padding):
    those rows are all zero here and become the extra outputs of ``W.T``.
    """
    kernel = np.asarray(kernel, dtype=float)
    rows = out_size
    if rows is None:
        rows = conv_output_size(n, kernel.size, stride, padding, dilation)
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


def tap_matrices(
    k: int, n: int, stride: int = 1, padding: int = 0, dilation: int = 1, out_size=None
) -> list:
    """0/1 matrices B_j with ``W = sum_j kernel[j] * B_j``: where each tap lands in W."""
    return [conv_matrix(np.eye(k)[j], n, stride, padding, dilation, out_size) for j in range(k)]


def symbolic_conv_matrix(
    tap_names: str, n: int, stride: int = 1, padding: int = 0, dilation: int = 1, out_size=None
):
    """W with symbolic taps (sympy), e.g. ``symbolic_conv_matrix("x y z", 4, padding=1)``.

    Built from ``tap_matrices``, so the lecture's symbolic matrices come from the same code
    as the numeric ones. sympy is imported here only: the numeric helpers never need it.
    """
    import sympy

    taps = sympy.symbols(tap_names)
    pieces = tap_matrices(len(taps), n, stride, padding, dilation, out_size)
    shape = pieces[0].shape
    W = sympy.zeros(*shape)
    for tap, piece in zip(taps, pieces, strict=True):
        W += tap * sympy.Matrix(piece.astype(int))
    return W


def translated_kernels(
    a, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """Row ``i`` is ``a[i]`` times the kernel, placed where input ``i`` writes in the output.

    Summing the rows gives ``conv_transpose1d``: the "weighted sum of translated kernels"
    view. Taps that fall off either end (padding crops them) are already dropped.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    n_out = transposed_output_size(a.size, kernel.size, stride, padding, output_padding, dilation)
    return a[:, None] * conv_matrix(kernel, n_out, stride, padding, dilation, out_size=a.size)


def conv_transpose1d_via_zeros(
    a, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """``conv_transpose1d`` as an ordinary stride-1 convolution ("fractionally strided").

    Insert ``stride - 1`` zeros between inputs, pad ``d*(k-1) - p`` on both sides (plus
    ``output_padding`` on the right), then cross-correlate with the flipped kernel. A negative
    pad means the transposed convolution crops, so we crop instead.
    """
    kernel = np.asarray(kernel, dtype=float)
    spread = insert_zeros(a, stride)
    edge = dilation * (kernel.size - 1) - padding
    left, right = edge, edge + output_padding
    padded = np.pad(spread, (max(left, 0), max(right, 0)))
    padded = padded[max(-left, 0) : padded.size - max(-right, 0)]
    return conv1d(padded, kernel[::-1], stride=1, padding=0, dilation=dilation)


def needed_output_padding(
    n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """The output_padding that makes a transposed convolution return length ``n`` again.

    A strided convolution drops the last ``(n + 2p - d(k-1) - 1) mod s`` inputs' worth of
    length, so several input lengths share one output length; this is what is lost.
    """
    return (n + 2 * padding - dilation * (k - 1) - 1) % stride


def overlap_count(
    n: int, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """How many (input, tap) pairs write to each output of a transposed convolution.

    It is the transposed convolution of all-ones with an all-ones kernel; uneven counts are
    the checkerboard pattern.
    """
    return conv_transpose1d(np.ones(n), np.ones(k), stride, padding, output_padding, dilation)


def conv_transpose2d_scatter(a, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0):
    """``F.conv_transpose2d`` for one channel, written as the lecture draws it.

    Each input pixel stamps a copy of the kernel weighted by its value, ``stride`` pixels
    apart in the output; the copies are summed where they overlap, then ``padding`` pixels are
    cropped from each side and ``output_padding`` rows/columns of zeros added at the end.
    Returns ``(cropped_output, full_sum_before_cropping)``.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    (h, w), (kh, kw) = a.shape, kernel.shape
    full = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
    for i in range(h):
        for j in range(w):
            full[i * stride : i * stride + kh, j * stride : j * stride + kw] += a[i, j] * kernel
    out_h = transposed_output_size(h, kh, stride, padding, output_padding)
    out_w = transposed_output_size(w, kw, stride, padding, output_padding)
    grown = np.pad(full, ((0, output_padding), (0, output_padding)))
    return grown[padding : padding + out_h, padding : padding + out_w], full


def as_text(values) -> str:
    """Numbers as the chapters print them in prose: ``9 0 1 3 -5 -3 6`` (integers stay integers)."""
    flat = np.round(np.asarray(values, dtype=float).ravel(), 6)
    return " ".join(str(int(v)) if v == int(v) else f"{v:g}" for v in flat)
