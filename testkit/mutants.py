"""Student-style submissions, correct or with one deliberate bug, made from a source notebook.

The regression tests and the benchmarks grade these and compare with :data:`EXPECTED_SCORES`.
Each bug is a small set of textual edits to the model answers, so the submissions follow the
source notebook as it evolves; an edit whose text is no longer found raises ``ValueError``
instead of silently making a correct submission. Each bug names the graded cells it must fail;
its expected score is what the source notebook's points leave (never a number written here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import is_solution

from autograder.contract import CELLS, points
from testkit.notebooks import (
    solution_delimiters,
    source_notebooks,
    strip_hidden_tests,
)


@dataclass(frozen=True)
class Edit:
    """Change the answer cell that defines ``function``.

    ``old=None`` replaces the whole answer (the solution region) with ``new``; otherwise the
    text ``old``, which must occur exactly once in the cell, becomes ``new``.
    """

    function: str
    old: str | None
    new: str


def _torch_body(call: str) -> str:
    return f"import torch\n{call}"


_WRAPS_TORCH = (
    Edit(
        "conv1d_matrix",
        None,
        _torch_body(
            "eye = torch.eye(n, dtype=torch.float64).reshape(n, 1, n)\n"
            "kernel = torch.as_tensor(np.asarray(weight, dtype=float)).reshape(1, 1, -1)\n"
            "columns = torch.nn.functional.conv1d(eye, kernel, stride=stride, padding=padding)\n"
            "return columns[:, 0, :].T.numpy()"
        ),
    ),
    Edit(
        "transposed_output_size",
        None,
        _torch_body(
            "out = torch.nn.functional.conv_transpose1d(\n"
            "    torch.zeros(1, 1, length), torch.zeros(1, 1, kernel_size), stride=stride,\n"
            "    padding=padding, output_padding=output_padding, dilation=dilation)\n"
            "return out.shape[-1]"
        ),
    ),
    *(
        Edit(
            name,
            None,
            _torch_body(
                "t = lambda a: None if a is None else torch.as_tensor(np.asarray(a, dtype=float))\n"
                f"return torch.nn.functional.{name}(t(input), t(weight), t(bias), stride=stride,\n"
                "    padding=padding, output_padding=output_padding, groups=groups,\n"
                "    dilation=dilation).numpy()"
            ),
        )
        for name in ("conv_transpose1d", "conv_transpose2d")
    ),
    Edit(
        "conv1d_input_grad",
        None,
        _torch_body(
            "g = torch.as_tensor(np.asarray(grad_output, dtype=float))\n"
            "w = torch.as_tensor(np.asarray(weight, dtype=float))\n"
            "x = torch.zeros(*g.shape[:-2], w.shape[1], input_length, dtype=torch.float64,\n"
            "                requires_grad=True)\n"
            "y = torch.nn.functional.conv1d(x, w, stride=stride, padding=padding)\n"
            "y.backward(g)\n"
            "return x.grad.numpy()"
        ),
    ),
)

# Saved before the checks start, and reached through torch.ops: blocking by attribute would
# miss both, so this tests that the checks intercept torch's dispatch itself.
_WRAPS_TORCH_PREBOUND = tuple(
    edit
    for name, dims in (("conv_transpose1d", 1), ("conv_transpose2d", 2))
    for edit in (
        Edit(
            name,
            f"def {name}(",
            f"import torch\n\n_saved_{name} = torch.ops.aten.convolution\n\n\ndef {name}(",
        ),
        Edit(
            name,
            None,
            "t = lambda a: None if a is None else torch.as_tensor(np.asarray(a, dtype=float))\n"
            f"p = lambda v: [v] * {dims} if isinstance(v, int) else list(v)\n"
            "x = t(input)\n"
            f"unbatched = x.dim() == {dims + 1}\n"
            "x = x[None] if unbatched else x\n"
            f"out = _saved_{name}(x, t(weight), t(bias), p(stride), p(padding), p(dilation),\n"
            "                     True, p(output_padding), groups)\n"
            "return (out[0] if unbatched else out).numpy()",
        ),
    )
)


def _insert_at_answer_start(function: str, line: str) -> Edit:
    """A bug that overrides an argument: ``line`` runs just before the answer reads its input."""
    first = {
        "conv_transpose1d": "x = np.asarray(input, dtype=float)\n",
    }[function]
    return Edit(function, first, f"{line}\n    {first}")


CONV_TRANSPOSE1D = tuple(
    grade_id for grade_id, cell in CELLS.items() if cell.function == "conv_transpose1d"
)
CONV_TRANSPOSE2D = tuple(
    grade_id for grade_id, cell in CELLS.items() if cell.function == "conv_transpose2d"
)
EVERY_CELL = tuple(CELLS)

# bug name -> (one-line description, edits, the graded cells it fails)
_BUGS: dict[str, tuple[str, tuple[Edit, ...], tuple[str, ...]]] = {
    "kernel_flipped": (
        "conv_transpose1d uses the kernel reversed (true convolution instead of correlation)",
        (Edit("conv_transpose1d", "wg[:, :, j]", "wg[:, :, k - 1 - j]"),),
        (*CONV_TRANSPOSE1D, "conv1d_input_grad"),
    ),
    "stride_ignored": (
        "conv_transpose1d always uses stride 1",
        (_insert_at_answer_start("conv_transpose1d", "stride = 1  # bug"),),
        (
            "conv_transpose1d_stride2",
            "conv_transpose1d_output_padding",
            "conv_transpose1d_general",
            "conv1d_input_grad",
        ),
    ),
    "padding_ignored": (
        "conv_transpose1d never crops the padding",
        (_insert_at_answer_start("conv_transpose1d", "padding = 0  # bug"),),
        (
            "conv_transpose1d_padding",
            "conv_transpose1d_output_padding",
            "conv_transpose1d_general",
            "conv1d_input_grad",
        ),
    ),
    "output_padding_ignored": (
        "conv_transpose1d ignores output_padding",
        (_insert_at_answer_start("conv_transpose1d", "output_padding = 0  # bug"),),
        ("conv_transpose1d_output_padding", "conv_transpose1d_general", "conv1d_input_grad"),
    ),
    "groups_ignored": (
        "conv_transpose1d treats every call as groups=1",
        (_insert_at_answer_start("conv_transpose1d", "groups = 1  # bug"),),
        ("conv_transpose1d_groups", "conv_transpose1d_general"),
    ),
    "bias_ignored": (
        "conv_transpose1d never adds the bias",
        (Edit("conv_transpose1d", "out = out + np.asarray(bias, dtype=float)[:, None]", "pass"),),
        ("conv_transpose1d_bias", "conv_transpose1d_general"),
    ),
    "matrix_transposed": (
        "conv1d_matrix returns W transposed",
        (Edit("conv1d_matrix", "return W", "return W.T"),),
        ("conv1d_matrix",),
    ),
    "output_size_no_dilation": (
        "transposed_output_size ignores dilation (so do the functions that use it)",
        (Edit("transposed_output_size", "dilation * (kernel_size - 1)", "(kernel_size - 1)"),),
        (
            "transposed_output_size",
            "conv_transpose1d_dilation",
            "conv_transpose1d_general",
            "conv_transpose2d_general",
        ),
    ),
    "grad_unread_ignored": (
        "conv1d_input_grad forgets the input positions a strided conv1d never reads",
        (Edit("conv1d_input_grad", "output_padding=unread", "output_padding=0"),),
        ("conv1d_input_grad",),
    ),
    "dilation_ignored": (
        "conv_transpose1d always uses dilation 1",
        (_insert_at_answer_start("conv_transpose1d", "dilation = 1  # bug"),),
        ("conv_transpose1d_dilation", "conv_transpose1d_general"),
    ),
    "output_size_off_by_one": (
        "transposed_output_size forgets the + 1 (so do the functions that use it)",
        (
            Edit(
                "transposed_output_size",
                "dilation * (kernel_size - 1) + 1",
                "dilation * (kernel_size - 1)",
            ),
        ),
        ("transposed_output_size", *CONV_TRANSPOSE1D, *CONV_TRANSPOSE2D),
    ),
    "padding_columns_kept": (
        "conv1d_matrix keeps a column for each zero of the padding",
        (
            Edit("conv1d_matrix", "np.zeros((rows, n))", "np.zeros((rows, n + 2 * padding))"),
            Edit("conv1d_matrix", "column = i * stride + j - padding", "column = i * stride + j"),
            Edit("conv1d_matrix", "if 0 <= column < n:", "if 0 <= column < n + 2 * padding:"),
        ),
        ("conv1d_matrix",),
    ),
    "rows_only": (
        "conv_transpose2d runs conv_transpose1d along each row with the kernel's first row",
        (
            Edit(
                "conv_transpose2d",
                None,
                "x = np.asarray(input, dtype=float)\n"
                "unbatched = x.ndim == 3\n"
                "x = x[None] if unbatched else x\n"
                "w = np.asarray(weight, dtype=float)[:, :, 0, :]\n"
                "(_, sw), (_, pw) = pair(stride), pair(padding)\n"
                "(_, ow), (_, dw) = pair(output_padding), pair(dilation)\n"
                "rows = [conv_transpose1d(x[:, :, r, :], w, bias, sw, pw, ow, groups, dw)\n"
                "        for r in range(x.shape[2])]\n"
                "out = np.stack(rows, axis=2)\n"
                "return out[0] if unbatched else out",
            ),
        ),
        CONV_TRANSPOSE2D,
    ),
    "pairs_swapped": (
        "conv_transpose2d reads every pair argument as (along the width, along the height)",
        (
            Edit(
                "conv_transpose2d",
                "(sh, sw), (ph, pw) = pair(stride), pair(padding)",
                "(sw, sh), (pw, ph) = pair(stride), pair(padding)",
            ),
            Edit(
                "conv_transpose2d",
                "(oh, ow), (dh, dw) = pair(output_padding), pair(dilation)",
                "(ow, oh), (dw, dh) = pair(output_padding), pair(dilation)",
            ),
        ),
        ("conv_transpose2d_general",),
    ),
    "only_1d": (
        "conv_transpose2d is not implemented (raises NotImplementedError)",
        (Edit("conv_transpose2d", None, 'raise NotImplementedError("only 1D so far")'),),
        CONV_TRANSPOSE2D,
    ),
    "wraps_torch": (
        "every answer calls torch (F.conv1d, F.conv_transpose1d/2d, autograd)",
        _WRAPS_TORCH,
        EVERY_CELL,
    ),
    "wraps_torch_prebound": (
        "conv_transpose1d/2d call torch.ops.aten.convolution, saved before any check runs",
        _WRAPS_TORCH_PREBOUND,
        (*CONV_TRANSPOSE1D, *CONV_TRANSPOSE2D, "conv1d_input_grad"),
    ),
}

BUGS: dict[str, str] = {name: description for name, (description, _, _) in _BUGS.items()}
FAILED_CELLS: dict[str | None, tuple[str, ...]] = {
    None: (),
    **{name: failed for name, (_, _, failed) in _BUGS.items()},
}

# The known mistake (a name in tconv.mistakes) that every failed cell of a mutant is diagnosed
# with: one name, or one per grade_id (None: the mutant's other failed cells). The mutants not
# listed fail by raising, or in the sandbox by calling torch: there is no answer to compare.
EXPECTED_MISTAKES: dict[str, str | dict[str | None, str]] = {
    "kernel_flipped": "kernel_flipped",
    "stride_ignored": "stride_ignored",
    "padding_ignored": "padding_ignored",
    "output_padding_ignored": {
        "conv1d_input_grad": "unread_ignored",
        None: "output_padding_ignored",
    },
    "groups_ignored": "groups_ignored",
    "bias_ignored": "bias_ignored",
    "matrix_transposed": "matrix_transposed",
    "output_size_no_dilation": {
        "transposed_output_size": "dilation_ignored",
        None: "dilation_ignored_in_size",
    },
    "grad_unread_ignored": "unread_ignored",
    "dilation_ignored": "dilation_ignored",
    "output_size_off_by_one": "one_short",
    "padding_columns_kept": "padding_columns_kept",
    "rows_only": "rows_only",
    "pairs_swapped": "pairs_swapped",
}


def expected_mistake(bug: str | None, grade_id: str) -> str | None:
    """The mistake a failed cell of ``bug``'s submission must be diagnosed with, or None."""
    named = EXPECTED_MISTAKES.get(bug)
    return named if named is None or isinstance(named, str) else named.get(grade_id, named[None])


def expected_scores(source_notebook: Path) -> dict[str | None, float]:
    """Each bug's score (None: the correct submission's) by the source notebook's points."""
    worth = points(source_notebook)
    return {
        bug: float(sum(p for grade_id, p in worth.items() if grade_id not in failed))
        for bug, failed in FAILED_CELLS.items()
    }


# Read once from the course's source notebook: the tests and benchmarks grade copies of it.
(_SOURCE,) = source_notebooks()
EXPECTED_SCORES = expected_scores(_SOURCE)
MAX_SCORE = EXPECTED_SCORES[None]


def points_of(grade_ids) -> float:
    """What these graded cells of the course's source notebook are worth together."""
    worth = points(_SOURCE)
    return float(sum(worth[grade_id] for grade_id in grade_ids))


def make_submission(source_notebook: Path, bug: str | None) -> nbformat.NotebookNode:
    """The source notebook as a student would submit it: correct answers, or ``bug``'s.

    Hidden tests are removed and the solution markers dropped, as in the release, and every
    answer is filled in; outputs are cleared (nbgrader re-executes everything anyway).
    """
    edits = () if bug is None else _BUGS[bug][1]
    nb = nbformat.read(Path(source_notebook), as_version=4)
    for cell in nb.cells:
        strip_hidden_tests(cell)
        if is_solution(cell) and cell.cell_type == "code":
            cell.source = _answer(cell.source, edits)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    _check_all_edits_used(nb, edits)
    return nb


def _answer(source: str, edits: tuple[Edit, ...]) -> str:
    """The answer cell with its solution region kept (markers dropped) and ``edits`` applied."""
    mine = [e for e in edits if re.search(rf"^def {re.escape(e.function)}\(", source, re.M)]
    whole = [e for e in mine if e.old is None]
    source = _replace_region(source, whole[0].new if whole else None)
    for edit in (e for e in mine if e.old is not None):
        count = source.count(edit.old)
        if count != 1:
            raise ValueError(f"{edit.function}: {edit.old!r} occurs {count} times, not once")
        source = source.replace(edit.old, edit.new)
    return source


def _replace_region(source: str, body: str | None) -> str:
    """Drop the solution markers; ``body`` (if given) replaces what was between them."""
    begin_solution, end_solution = solution_delimiters()
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        if begin_solution in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if body is not None:
                out += [indent + b if b else b for b in body.split("\n")]
        elif end_solution in line:
            inside = False
        elif not inside or body is None:
            out.append(line)
    return "\n".join(out)


def _check_all_edits_used(nb: nbformat.NotebookNode, edits: tuple[Edit, ...]) -> None:
    defined = {
        name
        for cell in nb.cells
        if cell.cell_type == "code"
        for name in re.findall(r"^def (\w+)\(", cell.source, re.M)
    }
    missing = {e.function for e in edits} - defined
    if missing:
        raise ValueError(f"no answer cell defines {sorted(missing)}")

