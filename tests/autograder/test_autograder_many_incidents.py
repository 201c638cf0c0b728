"""A notebook with many crashing cells: each is skipped and named, but the grades.csv message
stays short (the first few incidents and a count), so the instructor's table stays readable."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from grading_helpers import grade, grader_env, read_grades, source_notebook, write_student

from autograder.judge import MAX_LISTED_INCIDENTS
from testkit.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow

CRASHING_CELLS = MAX_LISTED_INCIDENTS + 7
# Each crashing cell costs a fresh sandbox, and every start counts against the submission's
# wall-clock budget: at load 20-30 (a full run beside two hogs) thirteen starts outran a 16 s
# budget and the notebook became a "timeout". This test is about the message, so its budget
# leaves room for thirteen slow starts; the budget itself is tested by the corpus.
AMPLE_SUBMISSION_SECONDS = "480"


def test_many_crashing_cells_give_a_short_message(course: Path, tmp_path: Path):
    nb = make_submission(source_notebook(course), None)
    for _ in range(CRASHING_CELLS):
        nb.cells.insert(2, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    write_student(tmp_path / "submitted", "crashes_often", nb)
    env = grader_env(AUTOGRADER_SUBMISSION_TIMEOUT=AMPLE_SUBMISSION_SECONDS)
    result = grade(course, tmp_path / "submitted", tmp_path / "out", env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    row = read_grades(tmp_path / "out")["crashes_often"]
    assert (row["status"], float(row["score"])) == ("crashed", EXPECTED_SCORES[None]), row
    assert row["message"].count("ended the process (exit code 3)") == MAX_LISTED_INCIDENTS, row
    assert f"and {CRASHING_CELLS - MAX_LISTED_INCIDENTS} more incidents" in row["message"], row
