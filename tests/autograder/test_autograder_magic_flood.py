"""A notebook full of IPython magics must not keep the judge busy beyond the submission's time
limit. IPython's transformer costs about (magics x lines) of a cell: one cell of 100 ``!ls``
among 40,000 lines takes it close to a minute. It therefore runs in the sandbox, under the
cell's time limit, and the judge only passes the text along."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import source_notebook

from autograder.assignment import read_source_notebook
from autograder.cases import build_cases
from autograder.judge import cells_to_run, grade_notebook
from autograder.sandbox import Limits, discover_layout
from autograder.slots import lease_slot
from testkit.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow  # the course fixture runs nbgrader; one test grades in a sandbox


def magic_flood(magics: int = 100, lines: int = 40_000) -> str:
    step = lines // magics
    return "".join("!ls\n" if i % step == 0 else f"x{i} = {i}\n" for i in range(lines))


def test_the_judge_passes_cells_on_as_written(course: Path):
    source = read_source_notebook(source_notebook(course))
    nb = nbformat.v4.new_notebook()
    cells = ["files = !ls\n%time x = 1\n", "%%bash\necho hi\n", magic_flood()]
    nb.cells = [nbformat.v4.new_code_cell(text) for text in cells]
    assert [c["source"] for c in cells_to_run(nb, source)] == cells


def test_a_magic_flood_costs_the_judge_less_than_one_cells_time_limit(course: Path):
    source = read_source_notebook(source_notebook(course))
    nb = make_submission(source_notebook(course), None)
    nb.cells.insert(2, nbformat.v4.new_code_cell(magic_flood()))
    limits = Limits(cell_seconds=3, submission_seconds=60)
    cases = build_cases(list(source.tests))
    with lease_slot() as slot:
        judge_cpu = time.process_time()
        result = grade_notebook(
            nb, source, cases, discover_layout(), limits, slot, time.monotonic() + 60
        )
        judge_cpu = time.process_time() - judge_cpu
    assert (result.status, result.score) == ("partial_timeout", EXPECTED_SCORES[None]), result
    assert "code cell 3 ('!ls') timed out after 3 s" in result.message, result.message
    assert judge_cpu < limits.cell_seconds, f"the judge spent {judge_cpu:.1f} s of CPU"
