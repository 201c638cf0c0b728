"""The grading contract: every graded cell of the assignment, defined once (instructor-only).

Per ``grade_id`` it holds the function under test and the cell's case generator, and through
them everything else a grader needs to know about the cell, each written in one place:

- the torch reference and the tolerance: ``tconv.testing.REFERENCES`` / ``TOLERANCES``, by
  function, because the students' own checks compute their expected values from torch at
  check time with them (they ship in the student release; the cases below do not);
- the points: the source notebook's nbgrader metadata, where nbgrader itself reads them
  (:func:`points` reads them back);
- the known mistakes: ``autograder.mistakes.MISTAKES``, by the function under test.

Readers: the judge (``autograder.cases.build_cases`` turns the calls into cases with torch's
expected outputs), the source notebook's hidden tests (``for args, kwargs in
hidden_cases(grade_id): check(*args, **kwargs)``, so ``nbgrader autograde`` and ``python -m
autograder grade`` check the very same calls), ``testkit.mutants`` and the tests
(``tests/exercises/test_contract.py`` lists every place a graded cell is defined).

Cases are float64 arrays from a generator seeded by the grade_id, so every reader and every
re-run sees identical calls. ``conv_transpose1d_general`` and ``conv_transpose2d_general``
also get PyTorch's own OpInfo sample inputs (:func:`opinfo_samples`).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.mistakes import MISTAKES
from tconv.testing import REFERENCES, TOLERANCES, Tolerance, random_generator


@dataclass(frozen=True)
class Call:
    """One call of a student's function: positional and keyword arguments."""

    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    function: str  # the student's function this cell calls
    calls_from: Callable[[np.random.Generator], list[Call]]  # the case generator

    def calls(self) -> list[Call]:
        # tconv.testing's generator is a reference taken before any notebook cell ran, so a
        # student cell that rebinds numpy's cannot change the hidden tests' cases.
        return self.calls_from(random_generator(zlib.crc32(self.grade_id.encode())))

    @property
    def reference(self) -> Callable:
        return REFERENCES[self.function]

    @property
    def tolerance(self) -> Tolerance:
        return TOLERANCES[self.function]

    @property
    def mistakes(self) -> tuple:
        return tuple(MISTAKES.get(self.function, ()))


# ----------------------------------------------------------------------------- case generators


def _tconv_call(rng, n, c_in, c_out, size, kernel, batched=True, bias=False, **options) -> Call:
    """A conv_transpose1d/2d call (by the lengths of ``size``): ``options`` are torch's keyword
    arguments; ``batched=False`` drops the batch dimension (``n`` must then be 1)."""
    groups = options.get("groups", 1)
    batch = (n,) if batched else ()
    x = rng.standard_normal((*batch, c_in, *size))
    w = rng.standard_normal((c_in, c_out // groups, *kernel))
    kwargs = dict(options, **({"bias": rng.standard_normal(c_out)} if bias else {}))
    return Call((x, w), kwargs)


def _tconv1d(rng, n, c_in, c_out, length, k, batched=True, bias=False, **options) -> Call:
    return _tconv_call(rng, n, c_in, c_out, (length,), (k,), batched, bias, **options)


def _tconv2d(rng, n, c_in, c_out, size, kernel, bias=False, **options) -> Call:
    return _tconv_call(rng, n, c_in, c_out, size, kernel, True, bias, **options)


def conv1d_matrix_calls(rng) -> list[Call]:
    specs = [
        (3, 5, 1, 0),
        (2, 6, 1, 0),
        (3, 7, 2, 0),
        (4, 9, 3, 0),
        (3, 5, 1, 1),
        (3, 8, 2, 2),
        (1, 4, 1, 0),
        (5, 5, 1, 2),
    ]
    return [
        Call((rng.standard_normal(k), n), {"stride": stride, "padding": padding})
        for k, n, stride, padding in specs
    ]


def transposed_output_size_calls(rng) -> list[Call]:
    specs = [
        (5, 3, 1, 0, 0, 1),
        (4, 2, 2, 0, 0, 1),
        (4, 3, 2, 1, 1, 1),
        (6, 3, 3, 1, 2, 1),
        (5, 3, 1, 0, 0, 2),
        (7, 4, 2, 1, 0, 3),
        (1, 1, 1, 0, 0, 1),
        (3, 5, 2, 2, 1, 2),
    ]
    names = ("stride", "padding", "output_padding", "dilation")
    return [
        Call((length, k), dict(zip(names, options, strict=True)))
        for length, k, *options in specs
    ]


def conv_transpose1d_stride1_calls(rng) -> list[Call]:
    specs = [(5, 3, True), (4, 1, True), (3, 4, True), (6, 2, False), (5, 3, False), (1, 3, True)]
    return [_tconv1d(rng, 1, 1, 1, length, k, batched=b) for length, k, b in specs]


def conv_transpose1d_stride2_calls(rng) -> list[Call]:
    specs = [(4, 3, 2), (5, 2, 2), (3, 4, 2), (4, 3, 3), (3, 2, 3), (2, 5, 3)]
    return [_tconv1d(rng, 1, 1, 1, length, k, stride=s) for length, k, s in specs]


def conv_transpose1d_padding_calls(rng) -> list[Call]:
    specs = [(5, 3, 1), (5, 3, 2), (6, 4, 1), (6, 4, 3), (4, 2, 1)]
    return [_tconv1d(rng, 1, 1, 1, length, k, padding=p) for length, k, p in specs]


def conv_transpose1d_output_padding_calls(rng) -> list[Call]:
    specs = [(4, 3, 2, 0, 1), (3, 2, 3, 0, 1), (3, 3, 3, 0, 2), (4, 3, 2, 1, 1), (5, 4, 3, 1, 2)]
    return [
        _tconv1d(rng, 1, 1, 1, length, k, stride=s, padding=p, output_padding=op)
        for length, k, s, p, op in specs
    ]


def conv_transpose1d_dilation_calls(rng) -> list[Call]:
    specs = [(5, 3, 2), (4, 2, 3), (6, 3, 3), (3, 4, 2)]
    return [_tconv1d(rng, 1, 1, 1, length, k, dilation=d) for length, k, d in specs]


def conv_transpose1d_batch_channels_calls(rng) -> list[Call]:
    specs = [
        (2, 3, 2, 5, 3, True),
        (3, 2, 4, 4, 2, True),
        (2, 1, 3, 6, 3, True),
        (1, 3, 2, 5, 3, False),
        (1, 2, 3, 4, 4, False),
    ]
    return [
        _tconv1d(rng, n, ci, co, length, k, batched=b) for n, ci, co, length, k, b in specs
    ]


def conv_transpose1d_groups_calls(rng) -> list[Call]:
    specs = [(2, 4, 2, 5, 3, 2), (1, 6, 3, 4, 2, 3), (2, 4, 6, 4, 3, 2), (1, 3, 3, 5, 2, 3)]
    return [_tconv1d(rng, n, ci, co, length, k, groups=g) for n, ci, co, length, k, g in specs]


def conv_transpose1d_bias_calls(rng) -> list[Call]:
    specs = [(1, 1, 1, 5, 3), (2, 3, 2, 4, 2), (1, 2, 4, 3, 3)]
    return [_tconv1d(rng, n, ci, co, length, k, bias=True) for n, ci, co, length, k in specs]


def conv_transpose1d_general_calls(rng) -> list[Call]:
    """Every argument at once, 1-tuples as torch accepts them, then PyTorch's OpInfo samples."""
    return [
        _tconv1d(rng, 1, 1, 1, 4, 3, stride=(2,), padding=(1,), output_padding=(1,)),
        _tconv1d(rng, 2, 4, 2, 3, 2, groups=2, dilation=(3,), bias=True),
        _tconv1d(rng, 1, 2, 2, 5, 3, batched=False, stride=(3,), padding=1, output_padding=(2,)),
        *_opinfo_calls(rng, "conv_transpose1d"),
    ]


def conv_transpose2d_basic_calls(rng) -> list[Call]:
    specs = [((3, 3), (2, 2)), ((4, 3), (3, 2)), ((2, 5), (3, 3)), ((1, 1), (2, 3))]
    return [_tconv2d(rng, 1, 1, 1, size, kernel, stride=1, padding=0) for size, kernel in specs]


def conv_transpose2d_general_calls(rng) -> list[Call]:
    return [
        _tconv2d(rng, 1, 1, 1, (3, 4), (3, 2), stride=(2, 1)),
        _tconv2d(rng, 1, 1, 1, (3, 3), (3, 3), stride=2, padding=(1, 0)),
        _tconv2d(rng, 1, 1, 1, (3, 3), (3, 3), stride=(2, 3), output_padding=(1, 2)),
        _tconv2d(rng, 1, 1, 1, (3, 4), (2, 3), dilation=(2, 1)),
        _tconv2d(rng, 2, 2, 3, (3, 3), (2, 2), stride=2, bias=True),
        _tconv2d(rng, 2, 4, 2, (3, 2), (3, 2), groups=2, stride=(1, 2), padding=1),
        _tconv2d(
            rng, 1, 2, 4, (4, 3), (3, 3),
            stride=2, padding=1, output_padding=1, dilation=(1, 2), groups=2, bias=True,
        ),
        *_opinfo_calls(rng, "conv_transpose2d"),
    ]


def conv1d_input_grad_calls(rng) -> list[Call]:
    calls = []
    for n, c_in, c_out, length, k, stride, padding, batched in [
        (1, 1, 1, 6, 3, 1, 0, True),
        (1, 1, 1, 7, 3, 2, 0, True),
        (2, 2, 3, 8, 3, 2, 1, True),
        (2, 3, 2, 9, 4, 1, 2, True),
        (1, 2, 2, 7, 2, 2, 0, False),
        (1, 1, 1, 8, 3, 2, 1, True),
    ]:
        out_length = (length + 2 * padding - k) // stride + 1  # conv1d's, which the grad matches
        batch = (n,) if batched else ()
        grad_output = rng.standard_normal((*batch, c_out, out_length))
        weight = rng.standard_normal((c_out, c_in, k))
        calls.append(Call((grad_output, weight, length), {"stride": stride, "padding": padding}))
    return calls


# ----------------------------------------------------------------------------- PyTorch's OpInfo


@functools.cache
def opinfo_samples(function: str) -> tuple[tuple, ...]:
    """PyTorch's OpInfo sample inputs for ``F.<function>``, as ``(input shape, weight shape,
    bias shape or None, kwargs)``: each case of ``sample_inputs_<function>`` in
    ``torch.testing._internal.common_methods_invocations``, batched and then unbatched, as
    that function yields them.

    The table is read from the installed torch's source rather than by importing that module,
    which takes seconds and torch's test-only dependencies (expecttest); the values are random
    there anyway. ``tests/exercises/test_contract.py`` checks this against
    ``op.sample_inputs`` itself.
    """
    spec = importlib.util.find_spec("torch.testing._internal.common_methods_invocations")
    source = Path(spec.origin).read_text(encoding="utf-8")
    start = source.find(f"\ndef sample_inputs_{function}(")
    if start < 0:
        raise LookupError(f"torch has no OpInfo sample inputs for {function}")
    end = source.find("\ndef ", start + 1)
    tree = ast.parse(source[start:end])
    tables = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and any(getattr(t, "id", None) == "cases" for t in _targets(node))
    ]
    if len(tables) != 1:
        raise LookupError(f"sample_inputs_{function} no longer holds one table named 'cases'")
    samples = []
    for input_shape, weight_shape, bias_shape, kwargs in ast.literal_eval(tables[0]):
        samples.append((input_shape, weight_shape, bias_shape, kwargs))
        samples.append((input_shape[1:], weight_shape, bias_shape, kwargs))
    return tuple(samples)


def _targets(node) -> list:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _opinfo_calls(rng, function: str) -> list[Call]:
    calls = []
    for input_shape, weight_shape, bias_shape, kwargs in opinfo_samples(function):
        x, w = rng.standard_normal(input_shape), rng.standard_normal(weight_shape)
        bias = {} if bias_shape is None else {"bias": rng.standard_normal(bias_shape)}
        calls.append(Call((x, w), {**kwargs, **bias}))
    return calls


# ----------------------------------------------------------------------------- the contract

CELLS: dict[str, GradedCell] = {
    cell.grade_id: cell
    for cell in (
        GradedCell("conv1d_matrix", "conv1d_matrix", conv1d_matrix_calls),
        GradedCell(
            "transposed_output_size", "transposed_output_size", transposed_output_size_calls
        ),
        GradedCell("conv_transpose1d_stride1", "conv_transpose1d", conv_transpose1d_stride1_calls),
        GradedCell("conv_transpose1d_stride2", "conv_transpose1d", conv_transpose1d_stride2_calls),
        GradedCell("conv_transpose1d_padding", "conv_transpose1d", conv_transpose1d_padding_calls),
        GradedCell(
            "conv_transpose1d_output_padding",
            "conv_transpose1d",
            conv_transpose1d_output_padding_calls,
        ),
        GradedCell(
            "conv_transpose1d_dilation", "conv_transpose1d", conv_transpose1d_dilation_calls
        ),
        GradedCell(
            "conv_transpose1d_batch_channels",
            "conv_transpose1d",
            conv_transpose1d_batch_channels_calls,
        ),
        GradedCell("conv_transpose1d_groups", "conv_transpose1d", conv_transpose1d_groups_calls),
        GradedCell("conv_transpose1d_bias", "conv_transpose1d", conv_transpose1d_bias_calls),
        GradedCell(
            "conv_transpose1d_general", "conv_transpose1d", conv_transpose1d_general_calls
        ),
        GradedCell("conv_transpose2d_basic", "conv_transpose2d", conv_transpose2d_basic_calls),
        GradedCell(
            "conv_transpose2d_general", "conv_transpose2d", conv_transpose2d_general_calls
        ),
        GradedCell("conv1d_input_grad", "conv1d_input_grad", conv1d_input_grad_calls),
    )
}


def graded_cell(grade_id: str) -> GradedCell:
    """The contract of one graded cell; an unknown grade_id is the instructor's error."""
    try:
        return CELLS[grade_id]
    except KeyError:
        raise KeyError(
            f"graded cell {grade_id!r} has no entry in autograder/contract.py (CELLS)"
        ) from None


def hidden_cases(grade_id: str) -> list[tuple[tuple, dict]]:
    """The calls the judge makes for ``grade_id``, as ``(args, kwargs)``: the source notebook's
    hidden tests run each through the cell's public ``check``."""
    return [(call.args, call.kwargs) for call in graded_cell(grade_id).calls()]


def points(source_notebook: Path) -> dict[str, float]:
    """grade_id -> points of each graded cell, from the source notebook's nbgrader metadata."""
    # Imported here: the hidden tests import this module in every student's kernel, and
    # reading notebooks brings in nbgrader, which they never need.
    from autograder.assignment import read_source_notebook

    return read_source_notebook(Path(source_notebook)).tests
