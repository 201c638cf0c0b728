"""Known mistakes of the exercises: what a wrong answer equals, and the sentence that teaches.

When a check fails, the same table serves the students' checks in the notebook
(:mod:`tconv.testing`) and the instructor's grader (``autograder.mistakes``): each known
mistake computes, with torch, what a function with that mistake returns on the failing case's
own inputs. If the student's answer equals it, the feedback says so, in one sentence that names
the book's section to reread. A wrong shape gets the length formula the answer follows.

This module is public (it ships with the exercises): it holds mistakes and formulas, never test
cases, and computes only on inputs it is given. Like :mod:`tconv.testing`, it keeps private
references to the torch functions it uses, taken when it is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

try:  # the grading sandbox has no torch: there the mistakes are simply not computed
    import torch
    import torch.nn.functional as _F
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = None

__all__ = [
    "LengthFormula",
    "LengthHint",
    "Mistake",
    "Section",
    "case_hints",
    "FORMULAS",
    "MISTAKES",
    "length_hints",
    "matching_mistakes",
    "mistakes_of",
]

if torch is not None:
    _conv1d = _F.conv1d
    _CONV_TRANSPOSE = {1: _F.conv_transpose1d, 2: _F.conv_transpose2d}
    _pad = _F.pad
    _from_numpy = torch.from_numpy
_array, _float64, _flip = np.array, np.float64, np.flip

# Answers bigger than this are not compared with a mistake (a mistake's output is as small as
# the case's inputs; a huge answer can only be a different shape, which is checked first).
MAX_COMPARED_VALUES = 1_000_000


@dataclass(frozen=True)
class Section:
    """A section of the book: its page (``book/<doc>.md``) and the id Sphinx gives its heading."""

    doc: str
    anchor: str
    title: str

    @property
    def chapter(self) -> int:
        return int(self.doc[:2])

    def cite(self) -> str:
        return f"chapter {self.chapter}, “{self.title}”"

    def href(self, book_url: str) -> str:
        """The section's address under ``book_url``, the built site's root (ends with /)."""
        return f"{book_url}book/{self.doc}.html#{self.anchor}"


# The sections the sentences send students to (the test checks each exists in the built site).
CH1_INNER_PRODUCT = Section(
    "01_conv_as_matrix", "one-inner-product-per-output", "One inner product per output"
)
CH1_MATRIX = Section(
    "01_conv_as_matrix", "the-layer-as-a-matrix-y-w-x", "The layer as a matrix: y = W x"
)
CH1_PADDING = Section(
    "01_conv_as_matrix",
    "the-cs-7643-example-kernel-size-3-stride-1-padding-1",
    "The CS 7643 example: kernel size 3, stride 1, padding 1",
)
CH2_TRANSPOSE = Section(
    "02_transposed_is_transpose",
    "the-transpose-of-a-convolution-matrix",
    "The transpose of a convolution matrix",
)
CH2_FLIPPED = Section(
    "02_transposed_is_transpose",
    "at-stride-1-it-is-a-convolution-with-the-kernel-flipped",
    "At stride 1 it is a convolution with the kernel flipped",
)
CH2_TRANSLATED = Section(
    "02_transposed_is_transpose",
    "a-weighted-sum-of-translated-kernels",
    "A weighted sum of translated kernels",
)
CH3_GROUPS = Section(
    "03_channels_and_groups", "groups-a-block-diagonal-matrix", "Groups: a block-diagonal matrix"
)
CH3_CHANNEL = Section(
    "03_channels_and_groups",
    "one-output-channel-channel-by-channel",
    "One output channel, channel by channel",
)
CH4_STRIDE = Section(
    "04_stride_two",
    "the-rows-of-w-top-are-not-shifted-copies",
    "The rows of Wᵀ are not shifted copies",
)
CH5_STAMPS = Section(
    "05_output_size",
    "the-stamps-cover-m-1-s-d-k-1-1-positions",
    "The stamps cover (m−1)s + d(k−1) + 1 positions",
)
CH5_PADDING = Section(
    "05_output_size",
    "padding-crops-output-padding-gives-back",
    "Padding crops, output_padding gives back",
)
CH5_FLOOR = Section(
    "05_output_size",
    "many-input-lengths-one-output-length-the-floor",
    "Many input lengths, one output length: the floor",
)
CH6_2D = Section(
    "06_two_dimensions",
    "a-2d-transposed-convolution-is-a-sum-of-translated-weighted-kernels",
    "A 2D transposed convolution is a sum of translated, weighted kernels",
)
CH7_FLIPPED = Section(
    "07_backward_pass",
    "correlation-and-convolution-the-kernel-read-in-reverse",
    "Correlation and convolution: the kernel read in reverse",
)
CH7_UNREAD = Section(
    "07_backward_pass",
    "stride-and-padding-still-w-top-now-with-output-padding",
    "Stride and padding: still Wᵀ, now with output_padding",
)


# ----------------------------------------------------------------------------- arguments


# The graded functions' signatures, to read a case's arguments by name however they were given.
def _conv1d_matrix(weight, n, stride=1, padding=0): ...
def _transposed_output_size(
    length, kernel_size, stride=1, padding=0, output_padding=0, dilation=1
): ...
def _conv_transpose(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
): ...
def _conv1d_input_grad(grad_output, weight, input_length, stride=1, padding=0): ...


SIGNATURES = {
    "conv1d_matrix": inspect.signature(_conv1d_matrix),
    "transposed_output_size": inspect.signature(_transposed_output_size),
    "conv_transpose1d": inspect.signature(_conv_transpose),
    "conv_transpose2d": inspect.signature(_conv_transpose),
    "conv1d_input_grad": inspect.signature(_conv1d_input_grad),
}
DIMS = {"conv_transpose1d": 1, "conv_transpose2d": 2}


def bound_arguments(function: str, args, kwargs) -> dict | None:
    """The case's arguments by name, defaults filled in; None if they do not fit."""
    try:
        bound = SIGNATURES[function].bind(*args, **kwargs)
    except (KeyError, TypeError):
        return None
    bound.apply_defaults()
    return dict(bound.arguments)


def _tuple(value, dims: int) -> tuple[int, ...]:
    """How torch reads an int-or-tuple argument: the same value on every axis, or the tuple."""
    values = tuple(int(v) for v in np.ravel(value))
    return values * dims if len(values) == 1 else values


def _int(value) -> int:
    """An int argument, also when given as a 1-tuple (``stride=(2,)``), as torch accepts it."""
    (single,) = _tuple(value, 1)
    return single


def _tensor(a) -> torch.Tensor:
    return _from_numpy(_array(a, dtype=_float64))


# ----------------------------------------------------------------------------- lengths


def transposed_length(m, k, s=1, p=0, o=0, d=1) -> int:
    """PyTorch's output length of a transposed convolution (the book's n)."""
    return (m - 1) * s - 2 * p + d * (k - 1) + o + 1


def conv_length(n, k, s=1, p=0, d=1) -> int:
    """PyTorch's output length of a convolution (the book's m)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True)
class LengthFormula:
    """A way to compute a length, right or wrong, in the book's notation."""

    name: str
    text: str  # e.g. "(m − 1)s − 2p + (k − 1) + o + 1"
    why: str  # what it gets wrong, said so a student can fix it ("" for the right one)
    section: Section
    length: Callable[..., int]  # of the case's (m, k, s, p, o, d) or (n, k, s, p)


TRANSPOSED = "(m − 1)s − 2p + d(k − 1) + o + 1"
CONV = "⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1"

# Lengths of a transposed convolution, of m inputs: the right one first.
TRANSPOSED_FORMULAS = (
    LengthFormula("right", TRANSPOSED, "", CH5_STAMPS, transposed_length),
    LengthFormula(
        "dilation_ignored",
        "(m − 1)s − 2p + (k − 1) + o + 1",
        "a kernel dilated by d spreads its k taps over d(k − 1) + 1 positions",
        CH5_STAMPS,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, p, o, 1),
    ),
    LengthFormula(
        "output_padding_ignored",
        "(m − 1)s − 2p + d(k − 1) + 1",
        "output_padding adds o positions at the end",
        CH5_PADDING,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, p, 0, d),
    ),
    LengthFormula(
        "padding_ignored",
        "(m − 1)s + d(k − 1) + o + 1",
        "padding crops p positions from each end of a transposed convolution's output",
        CH5_PADDING,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, 0, o, d),
    ),
    LengthFormula(
        "padding_once",
        "(m − 1)s − p + d(k − 1) + o + 1",
        "padding crops p positions from each end, 2p in all",
        CH5_PADDING,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, p, o, d) + p,
    ),
    LengthFormula(
        "stride_ignored",
        "(m − 1) − 2p + d(k − 1) + o + 1",
        "consecutive inputs place their kernels s positions apart",
        CH5_STAMPS,
        lambda m, k, s, p, o, d: transposed_length(m, k, 1, p, o, d),
    ),
    LengthFormula(
        "m_times_s",
        "ms − 2p + d(k − 1) + o + 1",
        "m kernels placed s apart start at 0, s, …, (m − 1)s",
        CH5_STAMPS,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, p, o, d) + s,
    ),
    LengthFormula(
        "one_short",
        "(m − 1)s − 2p + d(k − 1) + o",
        "the last kernel ends at (m − 1)s + d(k − 1), so the positions number one more than that",
        CH5_STAMPS,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, p, o, d) - 1,
    ),
    LengthFormula(
        "one_long",
        "(m − 1)s − 2p + d(k − 1) + o + 2",
        "the last kernel ends at (m − 1)s + d(k − 1), and positions start at 0",
        CH5_STAMPS,
        lambda m, k, s, p, o, d: transposed_length(m, k, s, p, o, d) + 1,
    ),
    LengthFormula(
        "convolution_length",
        "⌊(m + 2p − d(k − 1) − 1)/s⌋ + 1, a convolution's length",
        "a transposed convolution maps the convolution's output length back to its input length",
        CH5_FLOOR,
        lambda m, k, s, p, o, d: conv_length(m, k, s, p, d),
    ),
)

# Lengths of a convolution of n inputs (the rows of conv1d_matrix): the right one first.
CONV_FORMULAS = (
    LengthFormula("right", "⌊(n + 2p − k)/s⌋ + 1", "", CH1_MATRIX, conv_length),
    LengthFormula(
        "padding_ignored",
        "⌊(n − k)/s⌋ + 1",
        "the kernel also slides over the 2p zeros of the padding",
        CH1_PADDING,
        lambda n, k, s, p: conv_length(n, k, s, 0),
    ),
    LengthFormula(
        "padding_once",
        "⌊(n + p − k)/s⌋ + 1",
        "padding adds p zeros at each end, 2p in all",
        CH1_PADDING,
        lambda n, k, s, p: (n + p - k) // s + 1,
    ),
    LengthFormula(
        "stride_ignored",
        "n + 2p − k + 1",
        "the window moves s positions from one output to the next",
        CH1_MATRIX,
        lambda n, k, s, p: conv_length(n, k, 1, p),
    ),
    LengthFormula(
        "ceiling",
        "⌈(n + 2p − k)/s⌉ + 1",
        "a window that would run past the end is dropped: the floor, not the ceiling",
        CH5_FLOOR,
        lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1,
    ),
    LengthFormula(
        "one_short",
        "⌊(n + 2p − k)/s⌋",
        "the first window, at position 0, is an output too: add 1",
        CH1_MATRIX,
        lambda n, k, s, p: conv_length(n, k, s, p) - 1,
    ),
    LengthFormula(
        "one_long",
        "⌊(n + 2p − k)/s⌋ + 2",
        "windows start at 0, s, 2s, … and the last must end inside the padded input",
        CH1_MATRIX,
        lambda n, k, s, p: conv_length(n, k, s, p) + 1,
    ),
)
FORMULAS = {"transposed": TRANSPOSED_FORMULAS, "conv": CONV_FORMULAS}


def _axis_lengths(function: str, a: dict) -> list[tuple[str, int, str, tuple]]:
    """(axis name, axis of the output, formula family, the formula's arguments) per length the
    function's output has, for this case's arguments ``a``."""
    if function in DIMS:
        dims = DIMS[function]
        x, w = np.shape(a["input"]), np.shape(a["weight"])
        s, p = _tuple(a["stride"], dims), _tuple(a["padding"], dims)
        o, d = _tuple(a["output_padding"], dims), _tuple(a["dilation"], dims)
        names = ("length",) if dims == 1 else ("height", "width")
        return [
            (names[i], i - dims, "transposed", (x[i - dims], w[i - dims], s[i], p[i], o[i], d[i]))
            for i in range(dims)
        ]
    if function == "conv1d_input_grad":
        m, k = np.shape(a["grad_output"])[-1], np.shape(a["weight"])[-1]
        s, p, n = _int(a["stride"]), _int(a["padding"]), _int(a["input_length"])
        # output_padding is what the floor dropped: r = n - (the length without it)
        r = n - transposed_length(m, k, s, p)
        return [("length", -1, "transposed", (m, k, s, p, r, 1))]
    if function == "conv1d_matrix":
        k, n = np.size(a["weight"]), _int(a["n"])
        return [("rows", 0, "conv", (n, k, _int(a["stride"]), _int(a["padding"])))]
    return []


@dataclass(frozen=True)
class LengthHint:
    """On ``axis``, every wrong length of the failed cases follows ``formula``."""

    axis: str
    formula: LengthFormula
    right: LengthFormula
    cases: int

    def sentence(self, counted: bool = True) -> str:
        """The hint; ``counted``: say on how many failed cases (the grader compares several)."""
        where = "the one case" if self.cases == 1 else f"all {self.cases} cases"
        where = f" on {where} with a wrong {self.axis}" if counted else ""
        return (
            f"your output's {self.axis} follows {self.formula.text}{where}, not "
            f"{self.right.text}: {self.formula.why}; see {self.formula.section.cite()}."
        )


def length_hints(function: str, failed: list[tuple[tuple, dict, object]]) -> list[LengthHint]:
    """For the failed cases (args, kwargs, answer) whose answer has a wrong length: on each
    axis, the first known formula that every such length follows."""
    per_axis: dict[str, list[tuple[str, tuple, int]]] = {}
    for args, kwargs, answer in failed:
        a = bound_arguments(function, args, kwargs)
        shape = _shape_of(answer)
        if a is None or shape is None:
            continue
        for name, axis, family, values in _safe_axis_lengths(function, a):
            got = shape[axis] if -len(shape) <= axis < len(shape) else None
            if got is not None and got != FORMULAS[family][0].length(*values):
                per_axis.setdefault(name, []).append((family, values, got))
    hints = []
    for name, wrong in per_axis.items():
        family = FORMULAS[wrong[0][0]]
        fits = [f for f in family[1:] if all(f.length(*v) == got for _, v, got in wrong)]
        if fits:
            hints.append(LengthHint(name, fits[0], family[0], len(wrong)))
    return hints


def _safe_axis_lengths(function: str, a: dict) -> list:
    try:
        return _axis_lengths(function, a)
    except (TypeError, ValueError, IndexError):
        return []


def _shape_of(answer) -> tuple | None:
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, bool):
        return None
    shape = getattr(answer, "shape", None)
    return tuple(shape) if shape is not None else None


# ----------------------------------------------------------------------------- mistakes


@dataclass(frozen=True)
class Mistake:
    """A known mistake in ``function``: ``compute(arguments)`` is what an answer with it
    returns (None where it cannot be computed); ``what`` names that output, ``why`` teaches."""

    name: str
    function: str
    what: str
    why: str
    section: Section
    compute: Callable[[dict], object]

    def mistaken(self, args, kwargs):
        """The mistaken output for the case, or None (bad arguments, torch refused them)."""
        if torch is None:
            return None
        a = bound_arguments(self.function, args, kwargs)
        if a is None:
            return None
        try:
            with torch.no_grad():
                return self.compute(a)
        except Exception:  # noqa: BLE001 - a mistake torch cannot compute explains nothing
            return None

    def sentence(self, matched: int | None = None, failed: int | None = None) -> str:
        """The hint: on how many of the failed cases, when there were several to compare."""
        cases = "case" if failed == 1 else "cases"
        where = "" if failed is None else f" on {matched} of {failed} failed {cases}"
        return f"your output equals {self.what}{where}: {self.why}; see {self.section.cite()}."


def _transposed(a: dict, dims: int, lengths: Callable | None = None, weight=None, **changes):
    """The numpy solution's algorithm in torch, for any arguments: the uncropped sum of
    translated kernels, then ``output_padding`` zeros at the end, then ``padding`` cropped off
    each end. ``changes`` override arguments (a mistake's); ``lengths(m, k, s, p, o, d)``
    overrides the length kept on each axis; ``weight`` the weight."""
    a = {**a, **changes}
    x = _tensor(a["input"])
    w = _tensor(a["weight"] if weight is None else weight)
    unbatched = x.dim() == dims + 1
    x = x[None] if unbatched else x
    s, p = _tuple(a["stride"], dims), _tuple(a["padding"], dims)
    o, d = _tuple(a["output_padding"], dims), _tuple(a["dilation"], dims)
    full = _CONV_TRANSPOSE[dims](x, w, stride=s, groups=_int(a["groups"]), dilation=d)
    full = _pad(full, [v for axis in reversed(range(dims)) for v in (0, o[axis])])
    keep = lengths or transposed_length
    crop = []
    for axis in range(dims):
        m, k = x.shape[axis - dims], w.shape[axis - dims]
        n = keep(m, k, s[axis], p[axis], o[axis], d[axis])
        if n <= 0 or p[axis] + n > full.shape[axis - dims]:
            return None
        crop.append(slice(p[axis], p[axis] + n))
    out = full[(..., *crop)]
    if a["bias"] is not None:
        out = out + _tensor(a["bias"]).reshape(-1, *([1] * dims))
    return (out[0] if unbatched else out).numpy()


def _flipped(weight, dims: int) -> np.ndarray:
    return _flip(_array(weight, dtype=_float64), axis=tuple(range(-dims, 0))).copy()


def _transposed_mistakes(function: str) -> list[Mistake]:
    dims = DIMS[function]
    name = f"conv_transpose{dims}d"
    mistakes = [
        Mistake(
            "kernel_flipped",
            function,
            f"a {name} with the kernel flipped",
            "PyTorch's transposed convolution does not flip the kernel (input i adds "
            "a_i·κ_j at position i·s + j·d)",
            CH2_FLIPPED,
            lambda a: _transposed(a, dims, weight=_flipped(a["weight"], dims)),
        ),
        Mistake(
            "stride_ignored",
            function,
            f"a {name} with stride 1",
            "with stride s, input i places its kernel at position i·s, so the copies start s apart",
            CH4_STRIDE,
            lambda a: _transposed(a, dims, stride=1),
        ),
        Mistake(
            "padding_ignored",
            function,
            f"a {name} without the padding crop",
            "padding p removes p positions from each end of a transposed convolution's output",
            CH5_PADDING,
            lambda a: _transposed(a, dims, padding=0),
        ),
        Mistake(
            "output_padding_ignored",
            function,
            f"a {name} without output_padding",
            "output_padding adds positions at the end of the output (which still receive "
            "kernel taps when padding > 0)",
            CH5_PADDING,
            lambda a: _transposed(a, dims, output_padding=0),
        ),
        Mistake(
            "dilation_ignored",
            function,
            f"a {name} with dilation 1",
            "dilation d puts the kernel's taps d positions apart",
            CH5_STAMPS,
            lambda a: _transposed(a, dims, dilation=1),
        ),
        Mistake(
            "dilation_ignored_in_size",
            function,
            f"a {name} cropped to the length computed without dilation",
            "the dilated kernel covers d(k − 1) + 1 positions, so the output length is "
            f"{TRANSPOSED}",
            CH5_STAMPS,
            lambda a: _transposed(
                a, dims, lengths=lambda m, k, s, p, o, d: transposed_length(m, k, s, p, o, 1)
            ),
        ),
        Mistake(
            "one_short",
            function,
            f"a {name} one position short at the end" + (" of each axis" if dims == 2 else ""),
            f"the output length is {TRANSPOSED}; check the + 1",
            CH5_STAMPS,
            lambda a: _transposed(a, dims, lengths=lambda *args: transposed_length(*args) - 1),
        ),
        Mistake(
            "groups_ignored",
            function,
            f"a {name} with groups=1",
            "with groups g, input channels [b·C_in/g, (b+1)·C_in/g) feed only output channels "
            "[b·C_out/g, (b+1)·C_out/g), and the weight's second axis is C_out/g",
            CH3_GROUPS,
            lambda a: _transposed(a, dims, groups=1),
        ),
        Mistake(
            "bias_ignored",
            function,
            f"a {name} without the bias",
            "bias[o] is added to every position of output channel o",
            CH3_CHANNEL,
            lambda a: _transposed(a, dims, bias=None),
        ),
    ]
    if dims == 2:
        mistakes += [
            Mistake(
                "rows_only",
                function,
                "a 1D transposed convolution of each row with the kernel's first row, "
                "nothing done along the columns",
                "in 2D every input pixel places the whole k_h × k_w kernel, so the output "
                "grows along both axes, each with its own stride, padding, output_padding "
                "and dilation",
                CH6_2D,
                lambda a: _transposed(
                    a,
                    2,
                    weight=_array(a["weight"], dtype=_float64)[:, :, :1, :],
                    stride=(1, _tuple(a["stride"], 2)[1]),
                    padding=(0, _tuple(a["padding"], 2)[1]),
                    output_padding=(0, _tuple(a["output_padding"], 2)[1]),
                    dilation=(1, _tuple(a["dilation"], 2)[1]),
                ),
            ),
            Mistake(
                "pairs_swapped",
                function,
                "a conv_transpose2d with every pair argument read as (along the width, "
                "along the height)",
                "a pair argument is (along the height, along the width), the order of the "
                "last two axes",
                CH6_2D,
                lambda a: _transposed(
                    a,
                    2,
                    **{
                        key: _tuple(a[key], 2)[::-1]
                        for key in ("stride", "padding", "output_padding", "dilation")
                    },
                ),
            ),
        ]
    return mistakes


def _matrix(weight, n: int, stride: int, padding: int) -> np.ndarray:
    """The matrix of F.conv1d: column j is the convolution of the j-th unit vector."""
    eye = _tensor(np.eye(n)).reshape(n, 1, n)
    kernel = _tensor(weight).reshape(1, 1, -1)
    return _conv1d(eye, kernel, stride=stride, padding=padding)[:, 0, :].T.numpy()


def _matrix_of(a: dict, **changes) -> np.ndarray:
    a = {**a, **changes}
    return _matrix(a["weight"], _int(a["n"]), _int(a["stride"]), _int(a["padding"]))


MATRIX_MISTAKES = [
    Mistake(
        "matrix_transposed",
        "conv1d_matrix",
        "Wᵀ, the transpose of the convolution's matrix",
        "conv1d_matrix returns W, with one row per output (W @ x == F.conv1d(x, κ)); "
        "its transpose is the transposed convolution",
        CH1_MATRIX,
        lambda a: _matrix_of(a).T.copy(),
    ),
    Mistake(
        "kernel_flipped",
        "conv1d_matrix",
        "the matrix of a convolution with the kernel flipped",
        "F.conv1d is a cross-correlation: output i reads κ_j at input i·s + j − p, "
        "the kernel is not flipped",
        CH1_INNER_PRODUCT,
        lambda a: _matrix_of(a, weight=_array(a["weight"], dtype=_float64).ravel()[::-1].copy()),
    ),
    Mistake(
        "stride_ignored",
        "conv1d_matrix",
        "the matrix of a convolution with stride 1",
        "with stride s, row i reads the window starting at i·s − p, so consecutive rows "
        "shift by s columns",
        CH1_MATRIX,
        lambda a: _matrix_of(a, stride=1),
    ),
    Mistake(
        "padding_ignored",
        "conv1d_matrix",
        "the matrix of a convolution without padding",
        "padding p adds p zeros at each end: row i reads columns i·s − p … i·s − p + k − 1, "
        "and taps on the zeros have no column",
        CH1_PADDING,
        lambda a: _matrix_of(a, padding=0),
    ),
    Mistake(
        "padding_columns_kept",
        "conv1d_matrix",
        "the matrix of the padded input, with a column for each zero of the padding",
        "W acts on x itself (n columns): the padding's zeros contribute nothing, so their "
        "columns are dropped",
        CH1_PADDING,
        lambda a: _matrix(a["weight"], _int(a["n"]) + 2 * _int(a["padding"]), _int(a["stride"]), 0),
    ),
]


def _size_mistake(formula: LengthFormula) -> Mistake:
    return Mistake(
        formula.name,
        "transposed_output_size",
        f"n = {formula.text}",
        f"PyTorch's length is n = {TRANSPOSED}, and {formula.why}",
        formula.section,
        lambda a: formula.length(
            _int(a["length"]),
            _int(a["kernel_size"]),
            _int(a["stride"]),
            _int(a["padding"]),
            _int(a["output_padding"]),
            _int(a["dilation"]),
        ),
    )


def _input_grad(a: dict, weight=None, **changes) -> np.ndarray:
    """Wᵀ g as the transposed convolution with output_padding r, where r is what the floor
    dropped; ``changes`` override its arguments (a mistake's), r staying the right one."""
    g = _array(a["grad_output"], dtype=_float64)
    k, s, p = np.shape(a["weight"])[-1], _int(a["stride"]), _int(a["padding"])
    r = _int(a["input_length"]) - transposed_length(g.shape[-1], k, s, p)
    arguments = dict(
        input=g,
        weight=a["weight"] if weight is None else weight,
        bias=None,
        stride=s,
        padding=p,
        output_padding=r,
        groups=1,
        dilation=1,
    )
    return _transposed(arguments, 1, **changes)


INPUT_GRAD_MISTAKES = [
    Mistake(
        "unread_ignored",
        "conv1d_input_grad",
        "the transposed convolution of g without output_padding (r positions short)",
        "with stride s > 1 the floor drops r = (n + 2p − k) mod s input positions; "
        "output_padding = r gives them back (the last max(0, r − p) get gradient 0)",
        CH7_UNREAD,
        lambda a: _input_grad(a, output_padding=0),
    ),
    Mistake(
        "kernel_flipped",
        "conv1d_input_grad",
        "the transposed convolution with the kernel flipped",
        "∂ℓ/∂x = Wᵀ g is the transposed convolution with the same, unflipped weight",
        CH7_FLIPPED,
        lambda a: _input_grad(a, weight=_flipped(a["weight"], 1)),
    ),
    Mistake(
        "stride_ignored",
        "conv1d_input_grad",
        "the transposed convolution with stride 1",
        "the gradient is the transposed convolution with the convolution's own stride: "
        "output i read the inputs from i·s − p on",
        CH7_UNREAD,
        lambda a: _input_grad(a, stride=1),
    ),
    Mistake(
        "padding_ignored",
        "conv1d_input_grad",
        "the transposed convolution without the padding crop",
        "the convolution's padding p is cropped from each end of its transpose's output: "
        "those positions are the padding's zeros, not inputs",
        CH7_UNREAD,
        lambda a: _input_grad(a, padding=0),
    ),
]


MISTAKES: tuple[Mistake, ...] = (
    *MATRIX_MISTAKES,
    *(_size_mistake(f) for f in TRANSPOSED_FORMULAS[1:]),
    *_transposed_mistakes("conv_transpose1d"),
    *_transposed_mistakes("conv_transpose2d"),
    *INPUT_GRAD_MISTAKES,
)


def mistakes_of(function: str) -> tuple[Mistake, ...]:
    """The known mistakes of a graded function, in the order they are tried."""
    return tuple(m for m in MISTAKES if m.function == function)


def _values(answer) -> np.ndarray | None:
    try:
        values = _array(answer, dtype=_float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return values if values.size <= MAX_COMPARED_VALUES else None


def matching_mistakes(
    function: str, args, kwargs, answer, same: Callable[[np.ndarray, np.ndarray], bool]
) -> list[Mistake]:
    """The known mistakes whose output on this case equals ``answer``, by ``same(answer,
    mistaken)`` (the caller's comparison, with its tolerances), asked only where the shapes
    agree: a huge or misshapen answer costs nothing."""
    got = _values(answer)
    if got is None or torch is None:
        return []
    found = []
    with _one_thread():
        for mistake in mistakes_of(function):
            mistaken = mistake.mistaken(args, kwargs)
            # Both as computed (a size stays an int): ``same`` is the caller's comparison.
            if mistaken is not None and np.shape(mistaken) == got.shape and same(answer, mistaken):
                found.append(mistake)
    return found


@contextmanager
def _one_thread():
    """torch on one thread while the mistakes are computed: on arrays this small, waiting for
    an intra-op thread costs far more than the work (2 ms a call instead of 50 µs on a busy
    machine). The setting is process-wide; should two threads overlap here, a computation may
    run on more threads, or the process stay on one: slower or faster, never different."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def case_hints(
    function: str, args, kwargs, answer, same: Callable[[np.ndarray, np.ndarray], bool]
) -> list[str]:
    """The hints for one failed check, as the notebook's checks print them: the known
    mistakes the answer equals; else, for a wrong shape, the length formula it follows."""
    found = matching_mistakes(function, args, kwargs, answer, same)
    if found:
        return [m.sentence() for m in found]
    return [h.sentence(counted=False) for h in length_hints(function, [(args, kwargs, answer)])]
