"""The judge's test cases: inputs and torch-computed expected outputs for each graded cell.

Instructor-only (never released, never visible in the sandbox). One entry per ``grade_id`` of
the grading contract; each cell is all-or-nothing over its cases. Everything is float64 and
built from fixed seeds, so a re-run judges identical cases.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

RTOL = 1e-7
ATOL = 1e-9


@dataclass(frozen=True)
class Case:
    function: str
    args: tuple
    kwargs: dict
    expected: np.ndarray
    label: str  # shown in feedback when this case fails: arguments, never test source
    exact: bool = False  # integer answers (sizes) must match exactly


def _rng(grade_id: str) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(grade_id.encode()))


def _randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def _shape(a) -> str:
    return "x".join(map(str, np.shape(a)))


def _transposed_case(function: str, x, w, b, expected, options: dict) -> Case:
    """A case for a conv_transpose function: the student gets (x, w) and ``options``
    (plus ``bias`` when ``b`` is given); the label names shapes and options, never values."""
    kwargs = dict(options, **({"bias": _np(b)} if b is not None else {}))
    label = (
        f"input {_shape(x)}, weight {_shape(w)}"
        + "".join(f", {key}={value}" for key, value in options.items())
        + (", with bias" if b is not None else "")
    )
    return Case(function, (_np(x), _np(w)), kwargs, _np(expected), label)


def _tconv1d_case(gen, n, c_in, c_out, length, k, batched=True, bias=False, **options) -> Case:
    """One conv_transpose1d case; ``options`` are the keyword arguments given to both sides."""
    groups = options.get("groups", 1)
    x = _randn(gen, n, c_in, length)
    w = _randn(gen, c_in, c_out // groups, k)
    b = _randn(gen, c_out) if bias else None
    y = F.conv_transpose1d(x, w, b, **options)
    x_arg, y_exp = (x, y) if batched else (x[0], y[0])
    return _transposed_case("conv_transpose1d", x_arg, w, b, y_exp, options)


def conv1d_matrix_cases(gen) -> list[Case]:
    cases = []
    for k, n, stride, padding in [
        (3, 5, 1, 0),
        (2, 6, 1, 0),
        (3, 7, 2, 0),
        (4, 9, 3, 0),
        (3, 5, 1, 1),
        (3, 8, 2, 2),
        (1, 4, 1, 0),
        (5, 5, 1, 2),
    ]:
        w = _randn(gen, k)
        # Column j of W is the convolution of the j-th unit vector: W is unique given F.conv1d.
        eye = torch.eye(n, dtype=torch.float64).reshape(n, 1, n)
        matrix = F.conv1d(eye, w.reshape(1, 1, k), stride=stride, padding=padding)[:, 0, :].T
        kwargs = {"stride": stride, "padding": padding}
        label = f"weight length {k}, n={n}, stride={stride}, padding={padding}"
        cases.append(Case("conv1d_matrix", (_np(w), n), kwargs, _np(matrix), label))
    return cases


def transposed_output_size_cases(gen) -> list[Case]:
    cases = []
    for length, k, stride, padding, output_padding, dilation in [
        (5, 3, 1, 0, 0, 1),
        (4, 2, 2, 0, 0, 1),
        (4, 3, 2, 1, 1, 1),
        (6, 3, 3, 1, 2, 1),
        (5, 3, 1, 0, 0, 2),
        (7, 4, 2, 1, 0, 3),
        (1, 1, 1, 0, 0, 1),
        (3, 5, 2, 2, 1, 2),
    ]:
        options = dict(
            stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
        )
        x = torch.zeros(1, 1, length, dtype=torch.float64)
        w = torch.zeros(1, 1, k, dtype=torch.float64)
        size = F.conv_transpose1d(x, w, **options).shape[-1]
        label = f"length={length}, kernel_size={k}" + "".join(
            f", {a}={b}" for a, b in options.items()
        )
        cases.append(
            Case("transposed_output_size", (length, k), options, np.array(size), label, exact=True)
        )
    return cases


def conv_transpose1d_stride1_cases(gen) -> list[Case]:
    specs = [(5, 3, True), (4, 1, True), (3, 4, True), (6, 2, False), (5, 3, False), (1, 3, True)]
    return [_tconv1d_case(gen, 1, 1, 1, length, k, batched=b) for length, k, b in specs]


def conv_transpose1d_stride2_cases(gen) -> list[Case]:
    specs = [(4, 3, 2), (5, 2, 2), (3, 4, 2), (4, 3, 3), (3, 2, 3), (2, 5, 3)]
    return [_tconv1d_case(gen, 1, 1, 1, length, k, stride=s) for length, k, s in specs]


def conv_transpose1d_padding_cases(gen) -> list[Case]:
    specs = [(5, 3, 1), (5, 3, 2), (6, 4, 1), (6, 4, 3), (4, 2, 1)]
    return [_tconv1d_case(gen, 1, 1, 1, length, k, padding=p) for length, k, p in specs]


def conv_transpose1d_output_padding_cases(gen) -> list[Case]:
    specs = [(4, 3, 2, 0, 1), (3, 2, 3, 0, 1), (3, 3, 3, 0, 2), (4, 3, 2, 1, 1), (5, 4, 3, 1, 2)]
    return [
        _tconv1d_case(gen, 1, 1, 1, length, k, stride=s, padding=p, output_padding=op)
        for length, k, s, p, op in specs
    ]


def conv_transpose1d_dilation_cases(gen) -> list[Case]:
    specs = [(5, 3, 2), (4, 2, 3), (6, 3, 3), (3, 4, 2)]
    return [_tconv1d_case(gen, 1, 1, 1, length, k, dilation=d) for length, k, d in specs]


def conv_transpose1d_batch_channels_cases(gen) -> list[Case]:
    specs = [
        (2, 3, 2, 5, 3, True),
        (3, 2, 4, 4, 2, True),
        (2, 1, 3, 6, 3, True),
        (1, 3, 2, 5, 3, False),
        (1, 2, 3, 4, 4, False),
    ]
    return [
        _tconv1d_case(gen, n, ci, co, length, k, batched=b) for n, ci, co, length, k, b in specs
    ]


def conv_transpose1d_groups_cases(gen) -> list[Case]:
    specs = [(2, 4, 2, 5, 3, 2), (1, 6, 3, 4, 2, 3), (2, 4, 6, 4, 3, 2), (1, 3, 3, 5, 2, 3)]
    return [_tconv1d_case(gen, n, ci, co, length, k, groups=g) for n, ci, co, length, k, g in specs]


def conv_transpose1d_bias_cases(gen) -> list[Case]:
    specs = [(1, 1, 1, 5, 3), (2, 3, 2, 4, 2), (1, 2, 4, 3, 3)]
    return [_tconv1d_case(gen, n, ci, co, length, k, bias=True) for n, ci, co, length, k in specs]


def _tconv2d_case(gen, n, c_in, c_out, size, kernel, bias=False, **options) -> Case:
    groups = options.get("groups", 1)
    x = _randn(gen, n, c_in, *size)
    w = _randn(gen, c_in, c_out // groups, *kernel)
    b = _randn(gen, c_out) if bias else None
    y = F.conv_transpose2d(x, w, b, **options)
    return _transposed_case("conv_transpose2d", x, w, b, y, options)


def conv_transpose2d_basic_cases(gen) -> list[Case]:
    specs = [((3, 3), (2, 2)), ((4, 3), (3, 2)), ((2, 5), (3, 3)), ((1, 1), (2, 3))]
    return [
        _tconv2d_case(gen, 1, 1, 1, size, kernel, stride=1, padding=0) for size, kernel in specs
    ]


def conv_transpose2d_general_cases(gen) -> list[Case]:
    return [
        _tconv2d_case(gen, 1, 1, 1, (3, 4), (3, 2), stride=(2, 1)),
        _tconv2d_case(gen, 1, 1, 1, (3, 3), (3, 3), stride=2, padding=(1, 0)),
        _tconv2d_case(gen, 1, 1, 1, (3, 3), (3, 3), stride=(2, 3), output_padding=(1, 2)),
        _tconv2d_case(gen, 1, 1, 1, (3, 4), (2, 3), dilation=(2, 1)),
        _tconv2d_case(gen, 2, 2, 3, (3, 3), (2, 2), stride=2, bias=True),
        _tconv2d_case(gen, 2, 4, 2, (3, 2), (3, 2), groups=2, stride=(1, 2), padding=1),
        _tconv2d_case(
            gen,
            1,
            2,
            4,
            (4, 3),
            (3, 3),
            stride=2,
            padding=1,
            output_padding=1,
            dilation=(1, 2),
            groups=2,
            bias=True,
        ),
    ]


def conv1d_input_grad_cases(gen) -> list[Case]:
    cases = []
    for n, c_in, c_out, length, k, stride, padding, batched in [
        (1, 1, 1, 6, 3, 1, 0, True),
        (1, 1, 1, 7, 3, 2, 0, True),
        (2, 2, 3, 8, 3, 2, 1, True),
        (2, 3, 2, 9, 4, 1, 2, True),
        (1, 2, 2, 7, 2, 2, 0, False),
        (1, 1, 1, 8, 3, 2, 1, True),
    ]:
        x = _randn(gen, n, c_in, length).requires_grad_()
        w = _randn(gen, c_out, c_in, k)
        y = F.conv1d(x, w, stride=stride, padding=padding)
        g = _randn(gen, *y.shape)
        (grad,) = torch.autograd.grad(y, x, g)
        g_arg, grad_exp = (g, grad) if batched else (g[0], grad[0])
        kwargs = {"stride": stride, "padding": padding}
        label = (
            f"grad_output {_shape(g_arg)}, weight {_shape(w)}, input_length={length}, "
            f"stride={stride}, padding={padding}"
        )
        cases.append(
            Case("conv1d_input_grad", (_np(g_arg), _np(w), length), kwargs, _np(grad_exp), label)
        )
    return cases


CASE_BUILDERS: dict[str, Callable[[torch.Generator], list[Case]]] = {
    "conv1d_matrix": conv1d_matrix_cases,
    "transposed_output_size": transposed_output_size_cases,
    "conv_transpose1d_stride1": conv_transpose1d_stride1_cases,
    "conv_transpose1d_stride2": conv_transpose1d_stride2_cases,
    "conv_transpose1d_padding": conv_transpose1d_padding_cases,
    "conv_transpose1d_output_padding": conv_transpose1d_output_padding_cases,
    "conv_transpose1d_dilation": conv_transpose1d_dilation_cases,
    "conv_transpose1d_batch_channels": conv_transpose1d_batch_channels_cases,
    "conv_transpose1d_groups": conv_transpose1d_groups_cases,
    "conv_transpose1d_bias": conv_transpose1d_bias_cases,
    "conv_transpose2d_basic": conv_transpose2d_basic_cases,
    "conv_transpose2d_general": conv_transpose2d_general_cases,
    "conv1d_input_grad": conv1d_input_grad_cases,
}


def build_cases(grade_ids) -> dict[str, list[Case]]:
    """Cases for each requested grade_id; an unknown grade_id is an instructor error."""
    unknown = sorted(set(grade_ids) - set(CASE_BUILDERS))
    if unknown:
        names = ", ".join(unknown)
        raise ValueError(f"no judge cases for graded cell(s) {names} in autograder/cases.py")
    return {gid: CASE_BUILDERS[gid](_rng(gid)) for gid in grade_ids}


def verdict(case: Case, result: np.ndarray) -> str | None:
    """None when ``result`` is right; otherwise what is wrong, in words a student can act on."""
    if result.shape != case.expected.shape:
        return f"{case.label}: returned shape {result.shape}, expected {case.expected.shape}"
    got = result.astype(np.float64)
    if not np.all(np.isfinite(got)):
        return f"{case.label}: result contains NaN or infinity"
    if case.exact:
        if np.array_equal(got, case.expected.astype(np.float64)):
            return None
        return f"{case.label}: returned {got.tolist()}, expected {case.expected.tolist()}"
    expected = case.expected
    if np.all(np.abs(got - expected) <= ATOL + RTOL * np.abs(expected)):
        return None
    worst = np.max(np.abs(got - expected))
    return f"{case.label}: values differ from torch (max abs difference {worst:.3g})"
