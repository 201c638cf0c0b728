"""The grading contract: where a graded cell is defined, and that each fact about one is
written once.

A graded cell is defined in exactly these places (the README's "Adding a graded function"):

- the source notebook: its answer cell, and its test cell, whose nbgrader metadata hold the
  grade_id and the points, whose public checks call ``checker(function)`` and whose hidden
  tests run ``hidden_cases(grade_id)``;
- ``autograder/contract.py``: ``CELLS[grade_id]``, the function under test and the case
  generator;
- for a new *function* only, ``tconv/testing.py``: ``REFERENCES`` and ``TOLERANCES``;
- optionally ``autograder/mistakes.py``: ``MISTAKES[grade_id]``.

``exercises/`` is generated from the source notebook by nbgrader. Everything else (the judge,
the mutants' expected scores, the tests' totals, the feedback page) derives from these.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from exercises_course import RELEASE_DIR, source_notebooks

from autograder.assignment import read_source_notebook
from autograder.contract import CELLS, hidden_cases, opinfo_samples
from autograder.mistakes import MISTAKES
from tconv.testing import FLOAT64, REFERENCES, TOLERANCES
from testkit.notebooks import REPO, answer_cells, graded_cells, hidden_delimiters, region_lines

PLACES = {
    "solutions/<assignment>/*.ipynb": "answer cell; test cell: grade_id, points, checks",
    "autograder/contract.py": "CELLS[grade_id]: function under test, case generator",
    "tconv/testing.py": "REFERENCES[function], TOLERANCES[function] (a new function only)",
    "autograder/mistakes.py": "MISTAKES[grade_id] (optional)",
}
# Where code of the project lives that could restate a fact about a graded cell. tests/book and
# book/ test and show the chapters' own numbers, not the graded cells'.
PROJECT_CODE = ["autograder", "tconv", "testkit", "tools", "benchmarks", "tests/exercises",
                "tests/autograder", "tests/release"]


def graded_test_cells() -> dict[str, object]:
    return {
        cell.metadata.nbgrader.grade_id: cell
        for notebook in source_notebooks()
        for cell in graded_cells(notebook)
    }


def python_files(*folders: str) -> list[Path]:
    folders = folders or tuple(PROJECT_CODE)
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))


def test_the_places_listed_exist():
    for place in PLACES:
        assert list(REPO.glob(place.replace("<assignment>", "*"))), place


def test_the_source_notebook_and_the_contract_define_the_same_graded_cells_in_order():
    assert list(graded_test_cells()) == list(CELLS)


def test_every_function_under_test_has_one_reference_and_one_tolerance():
    functions = {cell.function for cell in CELLS.values()}
    assert set(REFERENCES) == set(TOLERANCES) == functions
    assert set(MISTAKES) <= functions  # the known mistakes are by function under test


def test_every_function_under_test_is_an_answer_of_the_source_notebook():
    answers = {
        node.name
        for notebook in source_notebooks()
        for cell in answer_cells(notebook)
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.FunctionDef)
    }
    assert {cell.function for cell in CELLS.values()} <= answers


@pytest.mark.parametrize("grade_id", list(CELLS))
def test_each_test_cell_checks_its_function_and_hides_exactly_the_contract_calls(grade_id):
    cell = graded_test_cells()[grade_id]
    begin, end = hidden_delimiters()
    hidden, public = region_lines(cell.source, begin, end)
    public_code = "\n".join(public)
    assert f'checker("{CELLS[grade_id].function}")' in public_code
    assert "autograder" not in public_code  # the release must run without the grader
    statements = ast.parse("\n".join(hidden)).body
    assert [ast.unparse(s) for s in statements] == [
        "from autograder.contract import hidden_cases",
        f"for args, kwargs in hidden_cases({grade_id!r}):\n    check(*args, **kwargs)",
    ], "hidden tests must run the contract's calls, and nothing else"
    assert hidden_cases(grade_id)


def test_points_are_written_only_in_the_source_notebooks_metadata():
    """No module or test states a cell's points or a total as a number; the notebook's prose
    for students, the one copy allowed, must agree with the metadata."""
    score_literal = re.compile(
        r"(MAX_SCORE|POINTS)\s*=\s*\d|score\w*\b[^\n#]*==\s*[1-9][\d.]*\s*($|[,)\]#]|==)"
        r"|\b[1-9][\d.]*\s*==[^\n#]*score"
    )
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in python_files()
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if score_literal.search(line)
    ]
    assert not found, found

    points = {}
    for notebook in source_notebooks():
        points.update(read_source_notebook(notebook).tests)
    intro = read_intro(source_notebooks()[0])
    total = re.search(r"\*\*Grading\.\*\* (\d+) points", intro)
    assert total and float(total.group(1)) == sum(points.values())
    for function, stated in re.findall(r"^\| \d+ \| `(\w+)` \| (\d+) \|", intro, re.M):
        worth = sum(p for g, p in points.items() if CELLS[g].function == function)
        assert float(stated) == worth, f"the notebook says {function} is worth {stated}"


def read_intro(notebook: Path) -> str:
    return nbformat.read(notebook, as_version=4).cells[0].source


def test_tolerances_are_written_only_in_the_tolerance_table():
    """The float64 tolerance's numbers appear in no project code but tconv/testing.py's table;
    the notebook's prose for students must state the table's."""
    float_literal = re.compile(r"(?<![\w.])\d+(?:\.\d*)?[eE][-+]?\d+")
    table = REPO / "tconv" / "testing.py"

    def states_a_tolerance(path: Path, line: str) -> bool:
        if path == table and "Tolerance(" in line:
            return False  # the table itself
        numbers = {float(n) for n in float_literal.findall(line)}
        return bool(numbers & {FLOAT64.rtol, FLOAT64.atol}) or bool(re.search(r"[ra]tol=\d", line))

    # What compares answers: the grader, the students' checks, the test support and the tests
    # of the exercises (the chapters' plots and the report's statistics have numbers of their own).
    answer_code = [table, *python_files("autograder", "testkit", "tests/exercises", "benchmarks")]
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in answer_code
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if states_a_tolerance(path, line)
    ]
    assert not found, found
    stated = re.search(r"relative tolerance of ([\d.e-]+)", read_intro(source_notebooks()[0]))
    assert stated and float(stated.group(1)) == FLOAT64.rtol


# Calls that compute a graded function's expected output: torch's convolutions, autograd, and
# the identity a convolution matrix is built from.
REFERENCE_CALLS = {"conv1d", "conv_transpose1d", "conv_transpose2d", "grad", "backward", "eye",
                   "_conv1d", "_conv_transpose1d", "_conv_transpose2d", "_autograd_grad"}


def called_names(tree: ast.AST) -> list[tuple[str, int]]:
    return [
        (getattr(node.func, "attr", None) or getattr(node.func, "id", ""), node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    ]


def test_references_are_computed_only_in_tconv_testing():
    """The grader and the test support never compute an expected output themselves, and in
    tconv/testing.py only the reference functions call torch's convolutions or autograd."""
    elsewhere = [
        f"{path.relative_to(REPO)}:{line}: {name}"
        for folder in ("autograder", "testkit")
        for path in sorted((REPO / folder).rglob("*.py"))
        for name, line in called_names(ast.parse(path.read_text("utf-8")))
        if name in REFERENCE_CALLS
    ]
    assert not elsewhere, elsewhere
    module = ast.parse((REPO / "tconv" / "testing.py").read_text("utf-8"))
    outside = [
        f"{function.name}:{line}: {name}"
        for function in module.body
        if isinstance(function, ast.FunctionDef) and not function.name.startswith("reference_")
        for name, line in called_names(function)
        if name in REFERENCE_CALLS
    ]
    assert not outside, outside
    references = {f.__name__ for f in REFERENCES.values()}
    assert all(name.startswith("reference_") for name in references)


def test_the_release_never_names_the_contract_nor_its_hidden_calls():
    for notebook in RELEASE_DIR.glob("*.ipynb"):
        text = notebook.read_text("utf-8")
        assert "autograder" not in text and "hidden_cases" not in text


def test_the_general_cells_hold_every_opinfo_sample():
    """PyTorch's OpInfo samples for conv_transpose1d/2d are among the judge's (and so the hidden
    tests') calls of the cells that check every argument at once."""
    for grade_id, function in [("conv_transpose1d_general", "conv_transpose1d"),
                               ("conv_transpose2d_general", "conv_transpose2d")]:
        calls = hidden_cases(grade_id)
        described = [
            (x.shape, w.shape, None if "bias" not in kw else kw["bias"].shape,
             {k: v for k, v in kw.items() if k != "bias"})
            for (x, w), kw in calls
        ]
        for input_shape, weight_shape, bias_shape, kwargs in opinfo_samples(function):
            assert (input_shape, weight_shape, bias_shape, kwargs) in described


def test_the_contract_gives_every_reader_the_same_calls():
    for grade_id in CELLS:
        first, again = hidden_cases(grade_id), hidden_cases(grade_id)
        assert len(first) == len(again) > 0
        for (args, kwargs), (args2, kwargs2) in zip(first, again, strict=True):
            assert repr(args) == repr(args2) and repr(kwargs) == repr(kwargs2)
