"""The book's numpy helpers: convolutions written as matrices, the way the chapters derive them.

One section per chapter, in the book's order; each function sits in the section of the first
chapter that uses it (earlier when an earlier helper needs it), helpers before their users, and
the comment above it says where it is used (tests/book/test_ops_layout.py keeps this true).

Conventions follow PyTorch (``F.conv1d`` is a cross-correlation): output ``i`` of a
convolution with stride ``s``, padding ``p`` and dilation ``d`` reads the padded input at
``i*s + j*d`` for kernel tap ``j``. Everything here is plain numpy, so the same code runs
in the book, in the tests (checked against torch) and in a browser-free widget precompute.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    # chapter 1
    "conv_output_size",
    "conv_matrix",
    "band_mask",
    "window_positions",
    "input_matrix",
    "conv1d",
    "toeplitz_mismatch",
    "is_toeplitz",
    "tap_matrices",
    "symbolic_conv_matrix",
    "as_text",
    "window_mask",
    "padded_conv_matrix",
    "row_taps",
    "symbolic_input_matrix",
    # chapter 2
    "transposed_output_size",
    "conv_transpose1d",
    "insert_zeros",
    "translated_kernels",
    "flipped_padding",
    "fractionally_strided_input",
    "flipped_conv_matrix",
    # chapter 3
    "group_input_channels",
    "grouped_conv_matrix",
    "symbolic_grouped_conv_matrix",
    "channel_terms",
    # chapter 4
    "conv_transpose1d_via_zeros",
    "needed_output_padding",
    "zero_insertion_matrix",
    # chapter 5
    "valid_output_paddings",
    "crop_full_output",
    "kept_mask",
    # chapter 6
    "translated_kernels2d",
    "conv_transpose2d_scatter",
    "conv_input_lengths",
    "conv_matrix_nd",
    "transposed_output_shape",
    "conv_transpose_nd",
    # chapter 7
    "input_grad_terms",
    # chapter 8
    "overlap_count",
    "overlap_count2d",
    "upsample_nearest",
    "conv2d",
    "resize_conv2d",
    "phase_sums",
    "phase_kernels",
    "stacked_kernel",
    "resize_conv_kernel",
    "bilinear_kernel",
    "pixel_shuffle",
]


# --- Chapter 1, convolution as a matrix: W, the windows X, Toeplitz structure --------------------


# Used in chapters 1, 3, 4, 7 and 8.
def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Length of ``F.conv1d`` output for an input of length ``n``."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


# Used in chapters 1, 2, 4, 5, 6, 7 and 8.
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


# Used in chapters 1, 2 and 7.
def band_mask(k: int, n: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """Boolean mask of the entries of W that a kernel tap lands on (its band)."""
    return conv_matrix(np.arange(1, k + 1), n, stride, padding, dilation) != 0


# Used in chapter 1.
def window_positions(i: int, k: int, stride: int = 1, dilation: int = 1) -> np.ndarray:
    """Where output ``i`` reads the padded input: position ``i*s + j*d`` for tap ``j``."""
    return i * stride + np.arange(k) * dilation


# Used in chapters 1, 4 and 7.
def input_matrix(x, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """The matrix X with ``X @ kernel == F.conv1d(x, kernel, ...)``: the input as a matrix.

    Row ``i`` is the (padded) window that output ``i`` reads, so the kernel becomes the vector.
    """
    x = np.pad(np.asarray(x, dtype=float), padding)
    rows = conv_output_size(x.size, k, stride, 0, dilation)
    windows = [x[window_positions(i, k, stride, dilation)] for i in range(rows)]
    return np.stack(windows) if rows > 0 else np.zeros((0, k))


# Used in chapters 1 and 8.
def conv1d(x, kernel, stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """``F.conv1d`` for one channel, computed as ``W @ x``."""
    x = np.asarray(x, dtype=float)
    return conv_matrix(kernel, x.size, stride, padding, dilation) @ x


# Used in chapter 4.
def toeplitz_mismatch(M: np.ndarray) -> np.ndarray:
    """Boolean mask of the entries that break Toeplitz structure.

    Entry ``(i, j)`` with ``i, j >= 1`` is marked when it differs from ``M[i-1, j-1]``, the
    entry a shifted copy of the row above would put there. All False exactly when
    ``is_toeplitz(M)``; drawing the mask shows *where* a matrix stops being a convolution.
    """
    M = np.asarray(M)
    mask = np.zeros(M.shape, dtype=bool)
    mask[1:, 1:] = M[1:, 1:] != M[:-1, :-1]
    return mask


# Used in chapters 1, 2, 3 and 4.
def is_toeplitz(M: np.ndarray) -> bool:
    """True when every row is the row above shifted right by one (constant diagonals)."""
    return not toeplitz_mismatch(M).any()


# Used in chapter 6.
def tap_matrices(
    k: int, n: int, stride: int = 1, padding: int = 0, dilation: int = 1, out_size=None
) -> list:
    """0/1 matrices B_j with ``W = sum_j kernel[j] * B_j``: where each tap lands in W."""
    return [conv_matrix(np.eye(k)[j], n, stride, padding, dilation, out_size) for j in range(k)]


# Used in chapters 1, 2, 4 and 5.
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


# Used in chapters 1, 2, 3, 4, 5, 6, 7 and 8.
def as_text(values) -> str:
    """Numbers as the chapters print them in prose: ``9 0 1 3 -5 -3 6`` (integers stay integers)."""
    flat = np.round(np.asarray(values, dtype=float).ravel(), 6)
    return " ".join(str(int(v)) if v == int(v) else f"{v:g}" for v in flat)


# Used in chapter 1.
def window_mask(
    i: int, n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """Boolean mask over the padded input (length ``n + 2p``) of the window output ``i`` reads."""
    mask = np.zeros(n + 2 * padding, dtype=bool)
    mask[window_positions(i, k, stride, dilation)] = True
    return mask


# Used in chapter 1.
def padded_conv_matrix(
    kernel, n: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """The m × (n + 2p) matrix CS 7643 draws: the convolution acting on the *padded* input.

    Every row holds all k taps. Its first and last ``p`` columns only ever multiply padding
    zeros; dropping them gives ``conv_matrix``, the W that acts on x itself, whose edge rows
    then hold fewer taps.
    """
    return conv_matrix(kernel, n + 2 * padding, stride, 0, dilation)


# Used in chapter 1.
def row_taps(
    i: int, k: int, n: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[int]:
    """The taps ``j`` that row ``i`` of W keeps: those landing on x, not on the padding."""
    inputs = window_positions(i, k, stride, dilation) - padding
    return [j for j, u in enumerate(inputs) if 0 <= u < n]


# Used in chapter 1.
def symbolic_input_matrix(
    input_names: str, k: int, stride: int = 1, padding: int = 0, dilation: int = 1
):
    """X with symbolic inputs (sympy), e.g. ``symbolic_input_matrix("x_0:4", 3, padding=1)``.

    Built by ``input_matrix`` on the positions 1 … n (0 marks padding), so the symbolic
    windows come from the same code as the numeric ones.
    """
    import sympy

    names = sympy.symbols(input_names)
    positions = input_matrix(np.arange(1, len(names) + 1), k, stride, padding, dilation)
    values = [0, *names]
    rows, cols = positions.shape
    return sympy.Matrix(rows, cols, lambda i, j: values[int(positions[i, j])])


# --- Chapter 2, the transpose: translated kernels, the flipped kernel, sizes ---------------------


# Used in chapters 2, 4, 5, 6 and 7.
def transposed_output_size(
    n: int, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Length of ``F.conv_transpose1d`` output: (n-1)*s - 2p + d*(k-1) + output_padding + 1."""
    return (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


# Used by channel_terms and overlap_count.
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


# Used in chapter 4.
def insert_zeros(a, stride: int) -> np.ndarray:
    """Put ``stride - 1`` zeros between neighbouring entries (the "fractional stride" view)."""
    a = np.asarray(a, dtype=float)
    out = np.zeros((a.size - 1) * stride + 1 if a.size else 0)
    out[::stride] = a
    return out


# Used in chapters 2, 5 and 7.
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


# Used in chapters 2 and 4.
def flipped_padding(k: int, padding: int = 0, dilation: int = 1) -> int:
    """The padding of the stride-1 convolution that equals a stride-1 transposed one: d(k-1)-p.

    Negative when ``p > d(k-1)``: the equivalent convolution then crops instead of padding.
    """
    return dilation * (k - 1) - padding


# Used in chapters 2 and 4.
def fractionally_strided_input(
    a, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """The signal a stride-1 convolution with the flipped kernel reads to give conv_transpose1d.

    ``stride - 1`` zeros between the inputs, then ``d(k-1) - p`` zeros on the left and
    ``d(k-1) - p + output_padding`` on the right; a negative amount crops instead of padding.
    Appending ``output_padding`` and then cropping is not the same as cropping and then
    appending zeros: when ``p > d(k-1)`` the latter would replace real inputs by zeros.
    """
    spread = insert_zeros(a, stride)
    left = flipped_padding(k, padding, dilation)
    right = left + output_padding
    padded = np.pad(spread, (max(left, 0), max(right, 0)))
    return padded[max(-left, 0) : padded.size - max(-right, 0)]


# Used in chapter 2.
def flipped_conv_matrix(kernel, n: int, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """Matrix of the stride-1 convolution with the kernel flipped and padding ``d(k-1) - p``.

    At stride 1 it equals ``conv_matrix(kernel, m, 1, padding, dilation).T`` where ``m`` is the
    transposed convolution's output length: the transposed convolution is this convolution.
    ``conv_matrix`` already reads a negative padding as cropping, so no special case is needed.
    """
    kernel = np.asarray(kernel, dtype=float)
    return conv_matrix(kernel[::-1], n, 1, flipped_padding(kernel.size, padding, dilation),
                       dilation)


# --- Chapter 3, channels and groups: the block matrix of a multi-channel convolution -------------


# Used in chapter 3.
def group_input_channels(
    out_channel: int, in_channels: int, out_channels: int, groups: int = 1
) -> range:
    """The input channels that output channel ``out_channel`` reads: the ones of its group.

    ``groups`` splits both the inputs and the outputs into that many consecutive groups;
    output channel ``o`` belongs to group ``o // (out_channels / groups)`` and reads only that
    group's ``in_channels / groups`` inputs. It holds for a convolution and, with its own in and
    out channels, for a transposed convolution.
    """
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels} (PyTorch refuses it too)")
    if not 0 <= out_channel < out_channels:
        raise ValueError(f"out_channel={out_channel} is not one of the {out_channels} outputs")
    per_group = in_channels // groups
    group = out_channel // (out_channels // groups)
    return range(group * per_group, (group + 1) * per_group)


# Used in chapter 3.
def grouped_conv_matrix(
    weight, n: int, stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1
) -> np.ndarray:
    """The block matrix W with ``W @ x.ravel() == F.conv1d(x, weight, ..., groups).ravel()``.

    ``x`` is ``(C_in, n)`` and ``weight`` is ``(C_out, C_in/groups, k)``, PyTorch's layout. W has
    ``C_out × C_in`` blocks of ``m × n``: block ``(o, c)`` is the single-channel
    ``conv_matrix`` of the kernel from input ``c`` to output ``o`` when ``c`` is in ``o``'s
    group, and zero otherwise, so groups make W block diagonal. ``W.T`` is then the matrix of
    ``F.conv_transpose1d(a, weight, ..., groups)``: the same weight tensor, read the other way.
    """
    weight = np.asarray(weight, dtype=float)
    out_channels, per_group, k = weight.shape
    in_channels = per_group * groups
    m = conv_output_size(n, k, stride, padding, dilation)
    W = np.zeros((out_channels * max(m, 0), in_channels * n))
    for o in range(out_channels):
        for local, c in enumerate(group_input_channels(o, in_channels, out_channels, groups)):
            W[o * m : (o + 1) * m, c * n : (c + 1) * n] = conv_matrix(
                weight[o, local], n, stride, padding, dilation)
    return W


# Used in chapter 3.
def symbolic_grouped_conv_matrix(
    kernel_names: str, out_channels: int, k: int, n: int, stride: int = 1, padding: int = 0,
    dilation: int = 1, groups: int = 1,
):
    """``grouped_conv_matrix`` with symbolic taps (sympy), one name per kernel.

    ``kernel_names`` names the kernels ``weight[o, c]`` in row-major order, e.g.
    ``"alpha beta gamma delta"`` for 2 outputs × 2 inputs; tap ``j`` of kernel ``alpha`` is
    the symbol ``alpha_j``. Built from the numeric matrix of each tap alone, like
    ``symbolic_conv_matrix``.
    """
    import sympy

    names = kernel_names.split()
    if len(names) % out_channels:
        raise ValueError(f"{len(names)} kernel names do not fill {out_channels} output rows")
    shape = (out_channels, len(names) // out_channels, k)
    W = None
    for flat in range(len(names) * k):
        one_tap = np.zeros(shape)
        one_tap.flat[flat] = 1.0
        piece = grouped_conv_matrix(one_tap, n, stride, padding, dilation, groups)
        tap = sympy.Symbol(f"{names[flat // k]}_{flat % k}")
        term = tap * sympy.Matrix(piece.astype(int))
        W = term if W is None else W + term
    return W


# Used in chapter 3.
def channel_terms(
    a, weight, out_channel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
    dilation: int = 1, groups: int = 1,
) -> np.ndarray:
    """The single-channel pieces of one output channel of ``F.conv_transpose1d(a, weight)``.

    ``a`` is ``(C_in, m)`` and ``weight`` ``(C_in, C_out/groups, k)``, PyTorch's layout for a
    transposed convolution. Row ``r`` is ``conv_transpose1d(a[c], weight[c, j])`` for the
    ``r``-th input channel ``c`` of ``out_channel``'s group (``j`` is ``out_channel``'s index
    inside its group); their sum is that output channel, before the bias is added.
    """
    a = np.asarray(a, dtype=float)
    weight = np.asarray(weight, dtype=float)
    in_channels, per_group, _ = weight.shape
    inputs = group_input_channels(out_channel, in_channels, per_group * groups, groups)
    local = out_channel % per_group
    return np.stack([
        conv_transpose1d(a[c], weight[c, local], stride, padding, output_padding, dilation)
        for c in inputs
    ])


# --- Chapter 4, stride 2: zero insertion (fractional stride) and sub-kernels ---------------------


# Used in no chapter: a reference the tests check against torch.
def conv_transpose1d_via_zeros(
    a, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """``conv_transpose1d`` as an ordinary stride-1 convolution ("fractionally strided").

    Insert ``stride - 1`` zeros between inputs, add ``d*(k-1) - p`` zeros on the left and
    ``d*(k-1) - p + output_padding`` on the right, then cross-correlate with the flipped
    kernel. A negative amount crops that many entries instead. The right amount is one net
    number: ``output_padding`` is appended before any cropping, so it first cancels cropping
    (keeping real inputs) and only then adds zeros (see ``fractionally_strided_input``).
    """
    kernel = np.asarray(kernel, dtype=float)
    padded = fractionally_strided_input(a, kernel.size, stride, padding, output_padding, dilation)
    return conv1d(padded, kernel[::-1], stride=1, padding=0, dilation=dilation)


# Used in chapters 4, 5, 7 and 8.
def needed_output_padding(
    n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """The output_padding that makes a transposed convolution return length ``n`` again.

    A strided convolution drops the last ``(n + 2p - d(k-1) - 1) mod s`` inputs' worth of
    length, so several input lengths share one output length; this is what is lost.
    """
    return (n + 2 * padding - dilation * (k - 1) - 1) % stride


# Used in chapter 4.
def zero_insertion_matrix(
    m: int, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """The 0/1 matrix S with ``S @ a == fractionally_strided_input(a, k, ...)`` for ``len(a) == m``.

    Column ``i`` has its one 1 where ``a[i]`` lands after the zeros are inserted and the ends
    padded (or cropped). The transposed convolution factors as ``W.T == T @ S`` with ``T`` the
    Toeplitz matrix of a stride-1 convolution with the flipped kernel: everything that keeps
    ``W.T`` from being a convolution at stride > 1 is in S.
    """
    columns = [fractionally_strided_input(e, k, stride, padding, output_padding, dilation)
               for e in np.eye(m)]
    return np.stack(columns, axis=1)


# --- Chapter 5, output size: output_padding, the merged lengths, what the crop keeps -------------


# Used in chapter 5.
def valid_output_paddings(stride: int, dilation: int = 1) -> range:
    """The output_padding values torch accepts: smaller than the stride or the dilation."""
    return range(max(stride, dilation))


# Used in chapter 5.
def crop_full_output(full, padding: int = 0, output_padding: int = 0) -> np.ndarray:
    """What a transposed convolution keeps of its uncropped output ``full`` (the summed stamps).

    Output ``u`` is ``full[u + padding]``: ``padding`` entries are cropped from each end, then
    ``output_padding`` entries are given back at the right end. Those are the real sums that
    were cropped, and zeros only where they reach past the end of ``full``
    (``output_padding > padding``). So ``crop_full_output(translated_kernels(a, kernel,
    stride, dilation=d).sum(axis=0), p, o)`` is ``F.conv_transpose1d``.
    """
    full = np.asarray(full, dtype=float)
    n = max(full.size - 2 * padding + output_padding, 0)
    extended = np.pad(full, (0, max(output_padding - padding, 0)))
    return extended[padding : padding + n]


# Used in chapter 5.
def kept_mask(full_size: int, padding: int = 0, output_padding: int = 0) -> np.ndarray:
    """Which positions of the uncropped output, extended past its end by what output_padding
    reaches beyond it, the transposed convolution keeps (``crop_full_output``'s positions)."""
    extended = full_size + max(output_padding - padding, 0)
    mask = np.zeros(extended, dtype=bool)
    mask[padding : padding + max(full_size - 2 * padding + output_padding, 0)] = True
    return mask


# --- Chapter 6, two and three dimensions ---------------------------------------------------------


# Used in chapter 6.
def translated_kernels2d(a, kernel, stride: int = 1) -> np.ndarray:
    """``out[i, j]`` is ``a[i, j] * kernel`` stamped at ``(i*s, j*s)`` on the uncropped canvas.

    The canvas is ``((h-1)s + kh) x ((w-1)s + kw)``: the transposed convolution before
    padding crops it. Summing over ``i, j`` gives that uncropped output.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    (h, w), (kh, kw) = a.shape, kernel.shape
    out = np.zeros((h, w, (h - 1) * stride + kh, (w - 1) * stride + kw))
    for i in range(h):
        for j in range(w):
            out[i, j, i * stride : i * stride + kh, j * stride : j * stride + kw] = a[i, j] * kernel
    return out


# Used in chapter 6.
def conv_transpose2d_scatter(a, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0):
    """``F.conv_transpose2d`` for one channel, written as the lecture draws it.

    Each input pixel stamps a copy of the kernel weighted by its value, ``stride`` pixels
    apart in the output; the copies are summed where they overlap. Output pixel ``(u, v)`` is
    the sum at ``(u + padding, v + padding)``: ``padding`` crops that many rows/columns from
    each side, and ``output_padding`` gives that many back at the bottom/right, real sums
    where they were cropped and zeros only beyond the canvas.
    Returns ``(cropped_output, full_sum_before_cropping)``.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    (h, w), (kh, kw) = a.shape, kernel.shape
    full = translated_kernels2d(a, kernel, stride).sum(axis=(0, 1))
    out_h = transposed_output_size(h, kh, stride, padding, output_padding)
    out_w = transposed_output_size(w, kw, stride, padding, output_padding)
    grown = np.pad(full, ((0, output_padding), (0, output_padding)))
    return grown[padding : padding + out_h, padding : padding + out_w], full


# Used in chapters 6 and 7.
def conv_input_lengths(
    n_out: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> range:
    """Every input length ``n >= 1`` that ``F.conv1d`` maps to an output of length ``n_out``.

    The floor in the output-size formula hides up to ``stride - 1`` inputs' worth of length,
    so there are up to ``stride`` of them; ``output_padding = n - smallest`` picks ``n`` back.
    """
    smallest = (n_out - 1) * stride + dilation * (k - 1) + 1 - 2 * padding
    return range(max(smallest, 1), smallest + stride)


# Used by conv_matrix_nd and transposed_output_shape.
def _per_axis(value, ndim: int) -> tuple:
    """An int (the same on every axis) or a sequence of ``ndim`` values, as a tuple."""
    values = (value,) * ndim if np.ndim(value) == 0 else tuple(value)
    if len(values) != ndim:
        raise ValueError(f"expected one value or {ndim} values, got {value!r}")
    return tuple(int(v) for v in values)


# Used in chapter 6.
def conv_matrix_nd(
    kernel, in_shape, stride=1, padding=0, dilation=1, out_shape=None
) -> np.ndarray:
    """W with ``W @ x.ravel() == F.conv{d}d(x, kernel, ...).ravel()`` for one channel.

    Images and volumes are flattened row by row (numpy's and torch's order). Tap
    ``(j_1, ..., j_d)`` reads the input at ``i_a s_a + j_a d_a - p_a`` on each axis ``a``
    independently, so the 0/1 matrix of where it lands is the Kronecker product of the 1D
    ``tap_matrices`` of the axes, and W is the tap-weighted sum of those products. Stride,
    padding and dilation are an int or one value per axis; ``out_shape`` asks for extra output
    rows on an axis, as ``conv_matrix``'s ``out_size`` does (for output_padding).
    """
    kernel = np.asarray(kernel, dtype=float)
    ndim = kernel.ndim
    axes = zip(kernel.shape, _per_axis(in_shape, ndim), _per_axis(stride, ndim),
               _per_axis(padding, ndim), _per_axis(dilation, ndim),
               out_shape if out_shape is not None else (None,) * ndim, strict=True)
    taps = [tap_matrices(*axis) for axis in axes]  # taps[a][j]: where tap j of axis a lands
    rows = int(np.prod([t[0].shape[0] for t in taps]))
    W = np.zeros((rows, int(np.prod(in_shape))))
    for index, tap in np.ndenumerate(kernel):
        lands = taps[0][index[0]]
        for axis in range(1, ndim):
            lands = np.kron(lands, taps[axis][index[axis]])
        W += tap * lands
    return W


# Used in chapter 6.
def transposed_output_shape(
    in_shape, kernel_shape, stride=1, padding=0, output_padding=0, dilation=1
) -> tuple:
    """``F.conv_transpose{d}d``'s output shape: the 1D length formula on every axis."""
    ndim = len(kernel_shape)
    return tuple(transposed_output_size(*axis) for axis in zip(
        _per_axis(in_shape, ndim), kernel_shape, _per_axis(stride, ndim),
        _per_axis(padding, ndim), _per_axis(output_padding, ndim), _per_axis(dilation, ndim),
        strict=True))


# Used in chapter 6.
def conv_transpose_nd(
    a, kernel, stride=1, padding=0, output_padding=0, dilation=1
) -> np.ndarray:
    """``F.conv_transpose1d/2d/3d`` for one channel, computed as ``W.T @ a.ravel()``.

    W is the matrix of the convolution that maps the output's shape back to ``a.shape``,
    exactly as ``conv_transpose1d`` does in 1D.
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    shape = transposed_output_shape(a.shape, kernel.shape, stride, padding, output_padding,
                                    dilation)
    W = conv_matrix_nd(kernel, shape, stride, padding, dilation, out_shape=a.shape)
    return (W.T @ a.ravel()).reshape(shape)


# --- Chapter 7, the backward pass ----------------------------------------------------------------


# Used in chapter 7.
def input_grad_terms(
    u: int, n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list:
    """The pairs ``(i, j)`` whose products ``g_i κ_j`` sum to ``∂ℓ/∂x_u``, in increasing ``i``.

    They are the non-zero entries ``W[i, u] = κ_j`` of column ``u`` of the convolution's matrix:
    output ``i`` read input ``u`` with tap ``j`` exactly when ``u = i s + j d - p``.
    """
    taps = tap_matrices(k, n, stride, padding, dilation)
    return sorted((int(i), j) for j, B in enumerate(taps) for i in np.flatnonzero(B[:, u]))


# --- Chapter 8, upsampling in practice: overlaps, phases, resize-convolution, sub-pixel ----------


# Used in chapter 8.
def overlap_count(
    n: int, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """How many (input, tap) pairs write to each output of a transposed convolution.

    It is the transposed convolution of all-ones with an all-ones kernel; uneven counts are
    the checkerboard pattern.
    """
    return conv_transpose1d(np.ones(n), np.ones(k), stride, padding, output_padding, dilation)


# Used in chapter 8.
def overlap_count2d(
    h: int, w: int, k: int, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> np.ndarray:
    """How many (input pixel, tap) pairs write to each output pixel of a 2D transposed conv.

    The transposed convolution of an all-ones ``h × w`` image with an all-ones ``k × k``
    kernel; where the counts are uneven, a 2D checkerboard appears.
    """
    counts, _ = conv_transpose2d_scatter(np.ones((h, w)), np.ones((k, k)), stride, padding,
                                         output_padding)
    return counts


# Used in chapter 8.
def upsample_nearest(a, scale: int) -> np.ndarray:
    """Every sample repeated ``scale`` times along every axis (nearest-neighbour upsampling)."""
    a = np.asarray(a, dtype=float)
    for axis in range(a.ndim):
        a = np.repeat(a, scale, axis=axis)
    return a


# Used by resize_conv2d.
def conv2d(x, kernel, padding: int = 0) -> np.ndarray:
    """``F.conv2d`` for one channel at stride 1: a sum of tap-weighted, shifted windows."""
    x = np.pad(np.asarray(x, dtype=float), padding)
    kernel = np.asarray(kernel, dtype=float)
    out_h, out_w = x.shape[0] - kernel.shape[0] + 1, x.shape[1] - kernel.shape[1] + 1
    out = np.zeros((max(out_h, 0), max(out_w, 0)))
    if out.size:
        for (i, j), tap in np.ndenumerate(kernel):
            out += tap * x[i : i + out_h, j : j + out_w]
    return out


# Used in chapter 8.
def resize_conv2d(a, kernel, scale: int, padding: int = 0) -> np.ndarray:
    """Resize-convolution: nearest-neighbour upsampling by ``scale``, then a stride-1 conv.

    Every output reads ``k × k`` upsampled pixels and each of them comes from exactly one
    input pixel, so away from the borders all outputs get the same number of contributions.
    """
    return conv2d(upsample_nearest(a, scale), kernel, padding)


# Used in chapter 8.
def phase_sums(kernel, stride: int) -> np.ndarray:
    """``out[φ] = kernel[φ::s].sum()`` along every axis: the sum of each phase's taps.

    Output ``o`` of a stride-``s`` transposed convolution (padding 0) receives tap ``j`` of
    input ``i`` when ``o = i*s + j``, so only the taps with ``j ≡ o (mod s)`` reach it. A constant
    input of 1 therefore gives these sums, repeating with period ``s``, away from the borders:
    equal sums, a flat output; unequal sums, stripes (1D) or a checkerboard (2D). The all-ones
    kernel's phase sums are the overlap counts.
    """
    kernel = np.asarray(kernel, dtype=float)
    sums = np.zeros((stride,) * kernel.ndim)
    for phase in np.ndindex(*sums.shape):
        sums[phase] = kernel[tuple(slice(p, None, stride) for p in phase)].sum()
    return sums


# Used in chapter 8.
def phase_kernels(kernel, stride: int) -> np.ndarray:
    """The sub-kernel of every phase, ``kernel[φ::s]`` along every axis, zero-padded to ⌈k/s⌉.

    Shape ``(s,) * ndim + (⌈k/s⌉,) * ndim``. Phase ``φ`` of a stride-``s`` transposed
    convolution is a stride-1 one with its sub-kernel; sub-pixel convolution (PixelShuffle)
    learns these ``s**ndim`` kernels independently.
    """
    kernel = np.asarray(kernel, dtype=float)
    taps = -(-max(kernel.shape, default=1) // stride)
    padded = np.zeros((taps * stride,) * kernel.ndim)
    padded[tuple(slice(0, k) for k in kernel.shape)] = kernel
    out = np.zeros((stride,) * kernel.ndim + (taps,) * kernel.ndim)
    for phase in np.ndindex(*(stride,) * kernel.ndim):
        out[phase] = padded[tuple(slice(p, None, stride) for p in phase)]
    return out


# Used in chapter 8.
def stacked_kernel(kernels, stride: int) -> np.ndarray:
    """The one kernel of several stride-``s`` transposed convolutions (padding 0) in a row.

    A stride-``s`` transposed convolution is zero insertion then a full convolution with the
    kernel, and zero insertion commutes with convolution, so ``L`` layers are one transposed
    convolution with stride ``s**L`` whose kernel is each earlier kernel dilated by the
    stride of the layers after it, all convolved together.
    """
    combined = np.ones(1)
    for kernel in kernels:
        combined = np.convolve(insert_zeros(combined, stride), np.asarray(kernel, dtype=float))
    return combined


# Used in chapter 8.
def resize_conv_kernel(kernel, scale: int) -> np.ndarray:
    """The transposed-convolution kernel of a resize-convolution: flip(κ) ∗ ones(s), every axis.

    Nearest upsampling by ``s`` followed by a stride-1 convolution with ``kernel`` and padding
    ``p`` equals a stride-``s`` transposed convolution with this kernel and padding
    ``k - 1 - p`` per axis (for ``p <= k - 1``). Each of its phase sums is ``kernel.sum()``.
    """
    combined = np.flip(np.asarray(kernel, dtype=float))
    for axis in range(combined.ndim):
        combined = np.apply_along_axis(np.convolve, axis, combined, np.ones(scale))
    return combined


# Used in chapter 8.
def bilinear_kernel(scale: int, ndim: int = 1) -> np.ndarray:
    """FCN's bilinear upsampling kernel for factor ``s``: a triangle of ``2s - s % 2`` taps.

    Tap ``j`` is ``1 - |j - (k-1)/2| / s`` (the outer product of that triangle in 2D). In a
    stride-``s`` transposed convolution with padding ``s // 2`` it interpolates linearly
    between neighbouring inputs, like ``F.interpolate(..., align_corners=False)`` except in
    the outer ``s // 2`` outputs, where torch repeats the edge instead of reading a zero.
    """
    k = 2 * scale - scale % 2
    taps = 1 - np.abs(np.arange(k) - (k - 1) / 2) / scale
    kernel = np.ones(())
    for _ in range(ndim):
        kernel = np.multiply.outer(kernel, taps)
    return kernel


# Used in chapter 8.
def pixel_shuffle(x, scale: int) -> np.ndarray:
    """``F.pixel_shuffle`` for one image: ``(C·s², h, w) -> (C, h·s, w·s)``.

    Channel ``c·s² + i·s + j`` becomes the pixels ``(r·s + i, q·s + j)`` of channel ``c``:
    each group of ``s²`` channels fills the ``s × s`` phases of one output channel.
    """
    x = np.asarray(x, dtype=float)
    channels, h, w = x.shape
    out = x.reshape(channels // scale**2, scale, scale, h, w).transpose(0, 3, 1, 4, 2)
    return out.reshape(channels // scale**2, h * scale, w * scale)
