"""Without a working bubblewrap the command stops with a clear error and grades nothing."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from grading_helpers import ASSIGNMENT, grade, grader_env, source_notebook

from testkit.mutants import make_submission

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "bwrap, says",
    [
        ("/bin/false", "refusing to grade"),
        ("/nonexistent/bwrap", "bubblewrap not found"),
    ],
)
def test_refuses_when_bwrap_is_unusable(course: Path, tmp_path: Path, bwrap: str, says: str):
    student = tmp_path / "submitted" / "someone"
    student.mkdir(parents=True)
    nbformat.write(make_submission(source_notebook(course), None), student / f"{ASSIGNMENT}.ipynb")
    result = grade(
        course, tmp_path / "submitted", tmp_path / "out", env=grader_env(AUTOGRADER_BWRAP=bwrap)
    )
    assert result.returncode == 2
    assert says in result.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
