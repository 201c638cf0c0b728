"""Student-style submissions, correct or with one deliberate bug, made from a source notebook.

The regression tests and the benchmark grade these and compare with :data:`EXPECTED_SCORES`.
Each bug is a small set of textual edits to the model answers, so the submissions follow the
source notebook as it evolves; an edit whose text is no longer found raises ``ValueError``
instead of silently making a correct submission.

Only nbformat is imported: this module is used by the tests and the benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


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
    """A bug that overrides an argument: ``line`` becomes the answer's first statement."""
    first = {
        "conv_transpose1d": "x = np.asarray(input, dtype=float)\n",
    }[function]
    return Edit(function, first, f"{line}\n    {first}")


# bug name -> (one-line description, edits, expected score)
_BUGS: dict[str, tuple[str, tuple[Edit, ...], float]] = {
    "kernel_flipped": (
        "conv_transpose1d uses the kernel reversed (true convolution instead of correlation)",
        (Edit("conv_transpose1d", "wg[:, :, j]", "wg[:, :, k - 1 - j]"),),
        6,
    ),
    "stride_ignored": (
        "conv_transpose1d always uses stride 1",
        (_insert_at_answer_start("conv_transpose1d", "stride = 1  # bug"),),
        14,
    ),
    "padding_ignored": (
        "conv_transpose1d never crops the padding",
        (_insert_at_answer_start("conv_transpose1d", "padding = 0  # bug"),),
        15,
    ),
    "output_padding_ignored": (
        "conv_transpose1d ignores output_padding",
        (_insert_at_answer_start("conv_transpose1d", "output_padding = 0  # bug"),),
        16,
    ),
    "groups_ignored": (
        "conv_transpose1d treats every call as groups=1",
        (_insert_at_answer_start("conv_transpose1d", "groups = 1  # bug"),),
        18,
    ),
    "bias_ignored": (
        "conv_transpose1d never adds the bias",
        (Edit("conv_transpose1d", "out = out + np.asarray(bias, dtype=float)[:, None]", "pass"),),
        18,
    ),
    "matrix_transposed": (
        "conv1d_matrix returns W transposed",
        (Edit("conv1d_matrix", "return W", "return W.T"),),
        17,
    ),
    "output_size_no_dilation": (
        "transposed_output_size ignores dilation (so do the functions that use it)",
        (Edit("transposed_output_size", "dilation * (kernel_size - 1)", "(kernel_size - 1)"),),
        15,
    ),
    "grad_unread_ignored": (
        "conv1d_input_grad forgets the input positions a strided conv1d never reads",
        (Edit("conv1d_input_grad", "output_padding=unread", "output_padding=0"),),
        17,
    ),
    "only_1d": (
        "conv_transpose2d is not implemented (raises NotImplementedError)",
        (Edit("conv_transpose2d", None, 'raise NotImplementedError("only 1D so far")'),),
        16,
    ),
    "wraps_torch": (
        "every answer calls torch (F.conv1d, F.conv_transpose1d/2d, autograd)",
        _WRAPS_TORCH,
        0,
    ),
    "wraps_torch_prebound": (
        "conv_transpose1d/2d call torch.ops.aten.convolution, saved before any check runs",
        _WRAPS_TORCH_PREBOUND,
        3,
    ),
}

BUGS: dict[str, str] = {name: description for name, (description, _, _) in _BUGS.items()}
MAX_SCORE = 19.0
EXPECTED_SCORES: dict[str | None, float] = {
    None: MAX_SCORE,
    **{name: float(score) for name, (_, _, score) in _BUGS.items()},
}


def make_submission(source_notebook: Path, bug: str | None) -> nbformat.NotebookNode:
    """The source notebook as a student would submit it: correct answers, or ``bug``'s.

    Hidden tests are removed and the solution markers dropped, as in the release, and every
    answer is filled in; outputs are cleared (nbgrader re-executes everything anyway).
    """
    edits = () if bug is None else _BUGS[bug][1]
    nb = nbformat.read(Path(source_notebook), as_version=4)
    for cell in nb.cells:
        cell.source = _remove_region(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
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
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        if BEGIN_SOLUTION in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if body is not None:
                out += [indent + b if b else b for b in body.split("\n")]
        elif END_SOLUTION in line:
            inside = False
        elif not inside or body is None:
            out.append(line)
    return "\n".join(out)


def _remove_region(source: str, begin: str, end: str) -> str:
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def hidden_test_lines(notebooks, min_length: int) -> list[str]:
    """Lines that only the hidden tests of ``notebooks`` contain: if one shows up, they leaked.

    Lines that also occur outside hidden regions (public tests, answers) are left out, since
    seeing those proves nothing; so are lines shorter than ``min_length``.
    """
    hidden, visible = set(), []
    for notebook in notebooks:
        for cell in nbformat.read(notebook, as_version=4).cells:
            inside = False
            for line in cell.source.split("\n"):
                if BEGIN_HIDDEN in line:
                    inside = True
                elif END_HIDDEN in line:
                    inside = False
                elif inside:
                    hidden.add(line.strip())
                else:
                    visible.append(line)
    visible_text = "\n".join(visible)
    return sorted(line for line in hidden if len(line) >= min_length and line not in visible_text)


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

