"""Reading the course's source notebooks the way nbgrader does: its cell predicates
(``nbgrader.utils``) and its preprocessors' region delimiters, never a hand-written copy."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions
from nbgrader.utils import is_grade, is_solution

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "transposed_conv"
SOURCE_DIR = REPO / "solutions" / ASSIGNMENT


def source_notebooks() -> list[Path]:
    """The assignment's source notebooks; never none (a loop over them must check something)."""
    found = sorted(SOURCE_DIR.glob("*.ipynb"))
    assert found, f"no notebooks in {SOURCE_DIR}"
    return found


def hidden_delimiters() -> tuple[str, str]:
    """The text that starts and ends a hidden-test region, as nbgrader is configured."""
    clear = ClearHiddenTests()
    return clear.begin_test_delimeter, clear.end_test_delimeter


def solution_delimiters() -> tuple[str, str]:
    clear = ClearSolutions()
    return clear.begin_solution_delimeter, clear.end_solution_delimeter


def secret_delimiters() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(begin, end) texts of every region nbgrader keeps from students: solutions, hidden
    tests and mark schemes."""
    solutions, tests, schemes = ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()
    return (
        (solutions.begin_solution_delimeter, tests.begin_test_delimeter,
         schemes.begin_mark_scheme_delimeter),
        (solutions.end_solution_delimeter, tests.end_test_delimeter,
         schemes.end_mark_scheme_delimeter),
    )


def strip_hidden_tests(cell: nbformat.NotebookNode) -> None:
    """Remove the cell's hidden-test region in place, as ``nbgrader generate_assignment``."""
    ClearHiddenTests(enforce_metadata=False).preprocess_cell(cell, {}, 0)


def region_lines(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """(lines inside ``begin``/``end`` regions, lines outside), delimiter lines dropped, with
    the region's delimiter lines matched as nbgrader matches them (the text anywhere in a line)."""
    inside, outside, within = [], [], False
    for line in source.split("\n"):
        if begin in line:
            within = True
        elif end in line:
            within = False
        else:
            (inside if within else outside).append(line)
    return inside, outside


def graded_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    """The autograded test cells of a source notebook, in order."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [c for c in cells if c.cell_type == "code" and is_grade(c) and not is_solution(c)]


def answer_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(notebook, as_version=4).cells if is_solution(c)]


def hidden_test_lines(notebooks: Iterable[Path], min_length: int) -> list[str]:
    """Lines that only the hidden tests of ``notebooks`` contain: if one shows up, they leaked.

    Lines that also occur outside hidden regions (public tests, answers) are left out, since
    seeing those proves nothing; so are lines shorter than ``min_length``.
    """
    begin, end = hidden_delimiters()
    hidden, visible = set(), []
    for notebook in notebooks:
        for cell in nbformat.read(notebook, as_version=4).cells:
            inside, outside = region_lines(cell.source, begin, end)
            hidden.update(line.strip() for line in inside)
            visible += outside
    visible_text = "\n".join(visible)
    return sorted(line for line in hidden if len(line) >= min_length and line not in visible_text)


def solution_functions(notebooks: Iterable[Path]) -> dict:
    """The model answers: every answer cell of ``notebooks``, run in one namespace."""
    import numpy as np

    namespace = {"np": np}
    for notebook in notebooks:
        for cell in answer_cells(notebook):
            if cell.cell_type == "code":
                exec(compile(cell.source, f"{notebook.name}:{cell.id}", "exec"), namespace)
    return namespace
