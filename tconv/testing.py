"""Checks for the exercises: compare your function with PyTorch and say exactly what differs.

The test cells of ``exercises/`` use :func:`checker`::

    check = checker("conv_transpose1d", conv_transpose1d)
    check([[[1, 2]]], [[[1, 0, -1]]], stride=2)   # same arguments as F.conv_transpose1d

Each call works out torch's answer first (float64), then calls your function with torch's
convolutions and autograd blocked, then compares shapes and values with explicit tolerances.
A failure raises :class:`CheckFailed`, whose message names the case, the expected and the
actual shape, and the largest difference with its index.

This module is public and installed for students: it holds no solutions and no test cases.
It keeps private references to the numpy and torch functions it uses, taken when it is
imported (the notebook's first cell), so a later ``np.allclose = ...`` or
``F.conv_transpose1d = ...`` in a notebook cannot change a verdict.
"""

from __future__ import annotations

import re
import sys
import traceback
import warnings
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tconv import mistakes as _mistakes
from tconv import ops as _ops

try:  # torch is the oracle; the autograder's sandbox has none, and then only checks fail.
    import torch
    import torch.nn.functional as _F
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = None

__all__ = [
    "CheckFailed",
    "TorchBlocked",
    "Tolerance",
    "checker",
    "compare",
    "random_generator",
    "torch_blocked",
    "REFERENCES",
    "TOLERANCES",
]

# Private references, taken at import time (see the module docstring).
_array = np.array
_float64 = np.float64
_unravel_index = np.unravel_index
_absolute = np.absolute  # a ufunc object: its behaviour cannot be patched
_array2string = np.array2string
_default_rng = np.random.default_rng
_ndarray = np.ndarray
_integer, _bool = np.integer, np.bool_
_isinstance = isinstance
_getframe = sys._getframe  # taken before a notebook cell could replace it
if torch is not None:
    _from_numpy = torch.from_numpy
    _zeros = torch.zeros
    _conv1d = _F.conv1d
    _conv_transpose1d = _F.conv_transpose1d
    _conv_transpose2d = _F.conv_transpose2d
    _autograd_grad = torch.autograd.grad
_TORCH_DIR = None if torch is None else str(Path(torch.__file__).parent)


class CheckFailed(AssertionError):
    """A check that failed; it displays as its message only, never as test-cell source.

    IPython asks an exception for ``_render_traceback_`` before formatting a traceback, so
    the lines of the test cell that raised it (hidden tests included) are never printed.
    ``student_traceback`` holds the formatted frames of the student's own code, if any.
    """

    def __init__(self, message: str, student_traceback: list[str] | None = None):
        super().__init__(message)
        self.student_traceback = student_traceback or []

    def _render_traceback_(self) -> list[str]:
        return [*self.student_traceback, f"\x1b[0;31mCheckFailed\x1b[0m: {self}"]


class TorchBlocked(RuntimeError):
    """Raised when an answer calls torch's convolutions or autograd during a check."""


# ----------------------------------------------------------------------------- references


def _tensor(a) -> torch.Tensor:
    return _from_numpy(_array(a, dtype=_float64))  # a fresh float64 copy, never a view


def _optional_tensor(a):
    return None if a is None else _tensor(a)


def _needs_torch() -> None:
    if torch is None:
        raise RuntimeError("these checks compare with PyTorch, which is not installed here")


def reference_conv1d_matrix(weight, n, stride=1, padding=0):
    """The matrix of ``F.conv1d``: column j is the convolution of the j-th unit vector."""
    _needs_torch()
    unit_vectors = _tensor(np.eye(n)).reshape(n, 1, n)
    kernel = _tensor(weight).reshape(1, 1, -1)
    columns = _conv1d(unit_vectors, kernel, stride=stride, padding=padding)
    return columns[:, 0, :].T.numpy()


def reference_transposed_output_size(
    length, kernel_size, stride=1, padding=0, output_padding=0, dilation=1
):
    """The length ``F.conv_transpose1d`` produces, read off an actual call."""
    _needs_torch()
    out = _conv_transpose1d(
        _zeros(1, 1, length, dtype=torch.float64),
        _zeros(1, 1, kernel_size, dtype=torch.float64),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    return int(out.shape[-1])


def reference_conv_transpose1d(input, weight, bias=None, **kwargs):
    _needs_torch()
    out = _conv_transpose1d(_tensor(input), _tensor(weight), _optional_tensor(bias), **kwargs)
    return out.numpy()


def reference_conv_transpose2d(input, weight, bias=None, **kwargs):
    _needs_torch()
    out = _conv_transpose2d(_tensor(input), _tensor(weight), _optional_tensor(bias), **kwargs)
    return out.numpy()


def reference_conv1d_input_grad(grad_output, weight, input_length, stride=1, padding=0):
    """``x.grad`` by autograd, for ``y = F.conv1d(x, weight)`` and ``dL/dy = grad_output``."""
    _needs_torch()
    grad_output = _tensor(grad_output)
    batch_shape = tuple(grad_output.shape[:-2])
    in_channels = _array(weight).shape[1]
    x = _zeros(*batch_shape, in_channels, input_length, dtype=torch.float64, requires_grad=True)
    y = _conv1d(x, _tensor(weight), stride=stride, padding=padding)
    if tuple(y.shape) != tuple(grad_output.shape):
        raise ValueError(f"test case is inconsistent: conv1d gives {tuple(y.shape)}")
    (grad_input,) = _autograd_grad(y, x, grad_output)
    return grad_input.numpy()


# The torch oracle of each graded function (the grading contract, autograder/contract.py, names
# the function each graded cell checks; the judge and these checks both call these).
REFERENCES: dict[str, Callable] = {
    "conv1d_matrix": reference_conv1d_matrix,
    "transposed_output_size": reference_transposed_output_size,
    "conv_transpose1d": reference_conv_transpose1d,
    "conv_transpose2d": reference_conv_transpose2d,
    "conv1d_input_grad": reference_conv1d_input_grad,
}




@dataclass(frozen=True)
class Tolerance:
    """How close an answer must be: ``|actual - expected| <= atol + rtol * |expected|`` in
    float64, elementwise; ``exact`` answers (sizes) must be that very integer."""

    rtol: float = 0.0
    atol: float = 0.0
    exact: bool = False

    def __str__(self) -> str:
        return "exact" if self.exact else f"rtol {self.rtol:g}, atol {self.atol:g}"


FLOAT64 = Tolerance(rtol=1e-7, atol=1e-9)  # a few ulps of summation order, no more
EXACT = Tolerance(exact=True)

# The one tolerance table: the students' checks and the instructor's judge both compare with it.
TOLERANCES: dict[str, Tolerance] = {
    "conv1d_matrix": FLOAT64,
    "transposed_output_size": EXACT,
    "conv_transpose1d": FLOAT64,
    "conv_transpose2d": FLOAT64,
    "conv1d_input_grad": FLOAT64,
}


# ----------------------------------------------------------------------------- blocking torch

# Function names an answer may not reach: every convolution, fold (col2im, the scatter-add at
# the heart of a transposed convolution) and its inverse, and autograd's entry points.
_BLOCKED_FUNCTION = re.compile(
    r"^_*(conv\d|conv_|convolution|mkldnn_conv|cudnn_conv|slow_conv|thnn_conv)"
    r"|^(fold|unfold|col2im|im2col)$"
    r"|^(grad|backward|vjp|jvp|jacobian|hessian|jacrev|jacfwd|grad_and_value|run_backward)$"
)
# The same for ATen operators, which is where every route to a convolution ends.
_BLOCKED_OPERATOR = re.compile(r"(^|_)conv(\d|_|olution)|col2im|im2col")


def _refuse(name: str):
    raise TorchBlocked(
        f"{name} is blocked while your function is checked: "
        "write it with numpy, that is the point of the exercise"
    )


if torch is not None:

    class _BlockTorchFunctions(TorchFunctionMode):
        """Intercepts every torch function called on tensors, even through a saved reference."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if _BLOCKED_FUNCTION.search(name):
                _refuse(f"torch's {name}")
            return func(*args, **(kwargs or {}))

    class _BlockAtenConvolutions(TorchDispatchMode):
        """Intercepts ATen operators, which also catches ``torch.ops.aten.convolution``."""

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if _BLOCKED_OPERATOR.search(func.__name__):
                _refuse(f"torch's {func.__name__}")
            return func(*args, **(kwargs or {}))


def _ops_blocked_stub(*args, **kwargs):
    # Runs with tconv.ops' globals (it lends only its code), hence a builtin exception.
    raise RuntimeError(
        "the course's helpers (tconv.ops) are blocked while your function is checked: "
        "write it yourself with numpy, that is the point of the exercise"
    )


# tconv.ops computes single-channel convolutions and their transposes (the chapters use it),
# so calling it would answer the exercise. An import made before the check holds the same
# function object, so the check swaps each function's code rather than the module attribute.
_OPS_FUNCTIONS = [
    f for f in vars(_ops).values()
    if _isinstance(f, type(_ops_blocked_stub)) and f.__module__ == _ops.__name__
    and not f.__code__.co_freevars
]


@contextmanager
def course_helpers_blocked():
    """Within this block every function of tconv.ops raises RuntimeError."""
    saved = [(f, f.__code__, f.__defaults__, f.__kwdefaults__) for f in _OPS_FUNCTIONS]
    try:
        for f in _OPS_FUNCTIONS:
            f.__defaults__ = f.__kwdefaults__ = None
            f.__code__ = _ops_blocked_stub.__code__
        yield
    finally:
        for f, code, defaults, kwdefaults in saved:
            f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults


@contextmanager
def torch_blocked():
    """Within this block any torch convolution, conv_transpose, grad or backward raises."""
    if torch is None:
        yield
        return
    with ExitStack() as stack:
        stack.enter_context(_BlockTorchFunctions())
        stack.enter_context(_BlockAtenConvolutions())
        yield


# ----------------------------------------------------------------------------- comparing


def _describe_array(a) -> str:
    if _isinstance(a, _ndarray) and a.size <= 24:
        return _array2string(a, precision=4, separator=", ")
    return f"array of shape {tuple(a.shape)}" if _isinstance(a, _ndarray) else repr(a)


def _describe_arg(value) -> str:
    if _isinstance(value, _ndarray):
        return f"array{tuple(value.shape)}"
    return repr(value)


def describe_call(name: str, args, kwargs) -> str:
    """``conv_transpose1d(array(1, 1, 3), array(1, 1, 2), stride=2)``: a case, briefly."""
    parts = [_describe_arg(a) for a in args]
    parts += [f"{key}={_describe_arg(value)}" for key, value in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def compare(
    actual, expected, tolerance: Tolerance = FLOAT64, show_arrays: bool = True
) -> str | None:
    """Return None when ``actual`` matches ``expected`` within ``tolerance``, else why.

    The one comparison of the course: the students' checks and the instructor's judge both
    call it with the function's entry in :data:`TOLERANCES`. A failure names the shapes, how
    many values differ, and the largest difference with its index; ``show_arrays`` adds both
    arrays when they are small (the judge leaves them out: its message is one line of a CSV).
    """
    if tolerance.exact:
        return _compare_exact(actual, expected)
    if _isinstance(actual, _NotNumbers):
        return f"returned {actual.type_name}, which is not an array of numbers ({actual.error})"
    try:
        actual = _array(actual, dtype=_float64)
    except Exception as error:  # noqa: BLE001 - any unconvertible return value is a failure
        return f"returned {type(actual).__name__}, which is not an array of numbers ({error})"
    expected = _array(expected, dtype=_float64)
    if actual.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {actual.shape}"
    if actual.size == 0:
        return None
    difference = _absolute(actual - expected)
    allowed = tolerance.atol + tolerance.rtol * _absolute(expected)
    bad = ~(difference <= allowed)  # NaN compares False: bad
    if not bad.any():
        return None
    not_a_number = difference != difference
    # Point at a NaN if there is one, else at the largest difference among the bad values.
    flat = int(not_a_number.argmax()) if not_a_number.any() else int((difference * bad).argmax())
    worst = _unravel_index(flat, actual.shape)
    index = tuple(int(i) for i in worst)
    summary = (
        f"shapes agree {expected.shape}, but {int(bad.sum())} of {actual.size} values differ; "
        f"largest difference {float(difference[worst]):.3g} at index {index} "
        f"(expected {float(expected[worst]):.6g}, got {float(actual[worst]):.6g})"
    )
    if not show_arrays:
        return summary
    return (
        f"{summary}\n"
        f"expected: {_describe_array(expected)}\n"
        f"actual:   {_describe_array(actual)}"
    )


def _whole_number(value) -> int | None:
    """``value`` as an int if it is one (a Python or numpy integer, or a 0-d integer array as
    the judge receives it), else None; a bool or a float such as 6.0 is not a size."""
    if _isinstance(value, _ndarray):
        return int(value) if value.shape == () and value.dtype.kind in "iu" else None
    if _isinstance(value, (int, _integer)) and not _isinstance(value, (bool, _bool)):
        return int(value)
    return None


def _compare_exact(actual, expected) -> str | None:
    expected, got = int(expected), _whole_number(actual)
    if got is None:
        shown = _describe_array(actual) if _isinstance(actual, _ndarray) else repr(actual)
        return f"expected the int {expected}, got {type(actual).__name__} {shown}"
    return None if got == expected else f"expected {expected}, got {got}"


def _student_frames(error: BaseException) -> list[str]:
    """The traceback of an exception raised in the student's code, and only of that code.

    It starts below this module's frame (the test cell above it is never shown) and stops
    where control passes into torch or back into this module, as when a call is blocked.
    """
    frames, tb = [], error.__traceback__.tb_next if error.__traceback__ else None
    while tb is not None and not _is_checker_code(tb.tb_frame.f_code.co_filename):
        frames.append(tb)
        tb = tb.tb_next
    if frames:
        frames[-1].tb_next = None
    first = frames[0] if frames else None
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None:
        return shell.InteractiveTB.structured_traceback(type(error), error, first)
    return traceback.format_exception(type(error), error, first)


def _is_checker_code(filename: str) -> bool:
    return filename == __file__ or (_TORCH_DIR is not None and filename.startswith(_TORCH_DIR))


def _call_blocked(name: str, function: Callable, args, kwargs):
    """Call the student's function with torch blocked; turn any exception into CheckFailed."""
    with warnings.catch_warnings():
        # nbgrader scores a test cell 0 if it writes to stderr, so a harmless warning
        # from an answer must not reach stderr; the values decide.
        warnings.simplefilter("ignore")
        try:
            with torch_blocked(), course_helpers_blocked():
                return _settled(function(*args, **kwargs))
        # BaseException: an interrupt (nbgrader's cell timeout) or sys.exit() must not
        # surface as an ordinary traceback, which would print the test cell's lines.
        except BaseException as error:  # noqa: BLE001 - every error of an answer is reported
            case = describe_call(name, args, kwargs)
            raise CheckFailed(
                f"{case} raised {type(error).__name__}: {error}", _student_frames(error)
            ) from None


class _NotNumbers:
    """What an answer returned when it could not be read as numbers while torch was blocked."""

    def __init__(self, value, error: BaseException) -> None:
        self.type_name = type(value).__name__
        self.error = error


def _settled(result):
    """Read an answer's result as plain numbers while torch is still blocked.

    An object whose ``__array__`` calls torch would otherwise compute its answer later, in
    ``compare``, after the block has ended. Python numbers stay as they are (sizes are ints).
    """
    if _isinstance(result, (int, float, np.integer, np.floating)):
        return result
    try:
        return _array(result, dtype=_float64)
    except Exception as error:  # noqa: BLE001 - reported by compare as "not numbers"
        return _NotNumbers(result, error)


def _fresh(value):
    """Arrays are passed as float64 copies, so an answer that writes into them harms nothing."""
    if _isinstance(value, (list, tuple, _ndarray)) and not _is_pair_of_ints(value):
        return _array(value, dtype=_float64)
    return value


def _is_pair_of_ints(value) -> bool:
    return _isinstance(value, tuple) and all(_isinstance(v, int) for v in value)


def checker(name: str, function: Callable | None = None) -> Callable:
    """Return ``check(*args, **kwargs)``, which compares ``function`` with torch on one case.

    ``name`` is the graded function's name (a key of :data:`REFERENCES` and
    :data:`TOLERANCES`). Without
    ``function``, the caller's global of that name is checked: a test cell then never raises
    a NameError, whose traceback would print the cell's (hidden) lines. Positional arguments
    that are lists or arrays are converted to float64 arrays; keyword arguments are passed
    unchanged to both torch and ``function``.
    """
    reference, tolerance = REFERENCES[name], TOLERANCES[name]
    if function is None:
        function = _getframe(1).f_globals.get(name)
    if not callable(function):
        raise CheckFailed(
            f"{name} is not defined: run the cell that defines it, and keep its name {name!r}"
        )

    def check(*args, **kwargs) -> None:
        args = tuple(_fresh(a) for a in args)
        kwargs = {k: _fresh(v) for k, v in kwargs.items()}
        try:
            expected = reference(*args, **kwargs)
        except KeyboardInterrupt:  # a timeout landing here must not print the test cell either
            raise CheckFailed(f"{describe_call(name, args, kwargs)}: interrupted") from None
        actual = _call_blocked(name, function, tuple(_fresh(a) for a in args), dict(kwargs))
        problem = compare(actual, expected, tolerance)
        if problem is not None:
            hints = "".join(f"\nHint: {h}" for h in _hints(name, args, kwargs, actual, tolerance))
            raise CheckFailed(f"{describe_call(name, args, kwargs)}: {problem}{hints}")

    return check


def _hints(name: str, args, kwargs, actual, tolerance) -> list[str]:
    """What a wrong answer equals, from the course's table of known mistakes (the grader's
    feedback says the same). A hint is a bonus: whatever goes wrong computing one, none."""
    if _isinstance(actual, _NotNumbers):
        return []
    try:
        same = lambda got, mistaken: compare(got, mistaken, tolerance) is None  # noqa: E731
        return _mistakes.case_hints(name, args, kwargs, actual, same)
    except Exception:  # noqa: BLE001 - the check's own message is what matters
        return []


def random_generator(seed: int) -> np.random.Generator:
    """numpy's default generator, from a reference taken before any notebook cell ran."""
    return _default_rng(seed)
