"""An assignment with several notebooks: each is found from the source folder, graded in its
own sandbox, and a student missing one of them keeps the points of the others."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from grading_helpers import ASSIGNMENT, generate_assignment, grade, read_grades, read_result

from testkit.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_notebook_course(course: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("two_notebooks")
    shutil.copy(course / "nbgrader_config.py", root)
    source = root / "solutions" / ASSIGNMENT
    shutil.copytree(course / "solutions" / ASSIGNMENT, source)
    shutil.copy(source / f"{ASSIGNMENT}.ipynb", source / "part2.ipynb")
    generate_assignment(root)
    return root


def test_each_notebook_is_graded(two_notebook_course: Path, tmp_path: Path):
    source = two_notebook_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    folder = tmp_path / "submitted"
    for student, parts in {
        "both": {ASSIGNMENT: None, "part2": "stride_ignored"},
        "first_only": {ASSIGNMENT: None},
    }.items():
        (folder / student).mkdir(parents=True)
        for name, bug in parts.items():
            nbformat.write(make_submission(source, bug), folder / student / f"{name}.ipynb")
    out = tmp_path / "out"
    result = grade(two_notebook_course, folder, out)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_grades(out)
    full = EXPECTED_SCORES[None]
    assert float(rows["both"]["max_score"]) == 2 * full
    assert (rows["both"]["status"], float(rows["both"]["score"])) == (
        "graded",
        full + EXPECTED_SCORES["stride_ignored"],
    )
    assert (rows["first_only"]["status"], float(rows["first_only"]["score"])) == (
        "missing_notebook",
        full,
    )
    assert "part2.ipynb not found" in rows["first_only"]["message"]
    notebooks = [nb["notebook"] for nb in read_result(out, "both")["notebooks"]]
    assert notebooks == ["part2", ASSIGNMENT]
    assert (out / "feedback" / "both" / "part2.html").exists()
