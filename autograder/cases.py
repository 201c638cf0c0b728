"""The judge's test cases: the contract's calls with torch's expected outputs, and the verdict.

Instructor-only (never released, never visible in the sandbox). What each graded cell calls,
with which reference and tolerance, is the grading contract's (autograder/contract.py); this
module only evaluates it once per batch and compares answers with
:func:`tconv.testing.compare`, the comparison the students' checks use. Each cell is
all-or-nothing over its cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.contract import GradedCell, graded_cell
from tconv.testing import Tolerance, compare, describe_call


@dataclass(frozen=True)
class Case:
    function: str
    args: tuple
    kwargs: dict
    expected: np.ndarray
    label: str  # shown in feedback when this case fails: the call's shapes, never test source
    tolerance: Tolerance


def cell_cases(cell: GradedCell) -> list[Case]:
    """The cell's calls, each with the expected output its torch reference computes."""
    return [
        Case(
            cell.function,
            call.args,
            call.kwargs,
            np.asarray(cell.reference(*call.args, **call.kwargs)),
            describe_call(cell.function, call.args, call.kwargs),
            cell.tolerance,
        )
        for call in cell.calls()
    ]


def build_cases(grade_ids) -> dict[str, list[Case]]:
    """Cases for each requested grade_id; an unknown grade_id is an instructor error."""
    try:
        cells = [graded_cell(gid) for gid in grade_ids]
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    return {cell.grade_id: cell_cases(cell) for cell in cells}


def verdict(case: Case, result: np.ndarray) -> str | None:
    """None when ``result`` is right; otherwise what is wrong, in words a student can act on."""
    problem = compare(result, case.expected, case.tolerance, show_arrays=False)
    return None if problem is None else f"{case.label}: {problem}"
