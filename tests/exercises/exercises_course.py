"""Runs the real nbgrader commands on a copy of the course, for the exercises' tests."""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from testkit.notebooks import ASSIGNMENT, REPO, SOURCE_DIR, hidden_delimiters, source_notebooks

RELEASE_DIR = REPO / "exercises" / ASSIGNMENT
HIDDEN_BEGIN, _ = hidden_delimiters()  # a marker no student-visible file may contain


def _tool_env() -> dict[str, str]:
    """tests/conftest.py's environment for tools (venv bin first on PATH: nbgrader runs alembic)."""
    path = REPO / "tests" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tests_root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tool_env()


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the real ``nbgrader ARGS`` in ``cwd``; fail with its stderr if it fails."""
    command = [str(Path(sys.executable).parent / "nbgrader"), *args]
    result = subprocess.run(command, cwd=cwd, env=_tool_env(), capture_output=True, text=True)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-5000:]}"
    return result


def make_course(root: Path) -> Path:
    """The repo's nbgrader config and source notebooks in ``root``, release generated afresh."""
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(SOURCE_DIR, root / "solutions" / ASSIGNMENT)
    nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root)
    return root


def release_notebooks() -> list[Path]:
    """The committed release's notebooks; never none."""
    found = sorted(RELEASE_DIR.glob("*.ipynb"))
    assert found, f"no notebooks in {RELEASE_DIR}"
    return found


@dataclass
class GradedCourse:
    root: Path
    expected: dict[str, float]  # student id -> expected total score
    scores: dict[str, float]  # student id -> score in the gradebook
    failed_cells: dict[str, list[str]]  # student id -> grade_ids below full marks

    def feedback_text(self, student: str) -> str:
        """Every feedback page of a student, as the text a browser shows (tags dropped)."""
        pages = sorted((self.root / "feedback" / student / ASSIGNMENT).glob("*.html"))
        assert pages, f"no feedback for {student}"
        return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", p.read_text())) for p in pages)


def write_submissions(root: Path) -> dict[str, float]:
    """submitted/<student>/<assignment>/*.ipynb for every case; returns the expected scores."""
    from testkit.mutants import BUGS, EXPECTED_SCORES, MAX_SCORE, make_submission

    def folder(student: str) -> Path:
        path = root / "submitted" / student / ASSIGNMENT
        path.mkdir(parents=True)
        return path

    for student, notebooks in [
        ("source", source_notebooks()),
        ("release", sorted((root / "exercises" / ASSIGNMENT).glob("*.ipynb"))),
    ]:
        target = folder(student)
        for notebook in notebooks:
            shutil.copy(notebook, target)
    expected = {"source": MAX_SCORE, "release": 0.0}
    for bug in [None, *BUGS]:
        student = "correct" if bug is None else f"bug_{bug}"
        target = folder(student)
        for notebook in source_notebooks():
            nbformat.write(make_submission(notebook, bug), target / notebook.name)
        expected[student] = EXPECTED_SCORES[bug]
    return expected


def read_scores(root: Path) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Total score and failed grade cells per student, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    scores, failed = {}, {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submissions = gradebook.find_assignment(ASSIGNMENT).submissions
        for submission in submissions:
            student = submission.student.id
            scores[student] = submission.score
            failed[student] = sorted(
                grade.name
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.score < grade.max_score
            )
    return scores, failed


def autograde_batch(root: Path) -> GradedCourse:
    """Autograde every case as one class, in ONE `nbgrader autograde` call, then feedback."""
    make_course(root)
    expected = write_submissions(root)
    nbgrader("autograde", ASSIGNMENT, "--force", cwd=root)
    nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root)
    scores, failed = read_scores(root)
    return GradedCourse(root, expected, scores, failed)


def hidden_test_lines() -> list[str]:
    """Distinctive lines of the source notebooks' hidden tests (no feedback may show them)."""
    from testkit.notebooks import hidden_test_lines as lines_only_hidden_tests_contain

    return lines_only_hidden_tests_contain(source_notebooks(), min_length=24)


def solution_functions() -> dict:
    """The model answers: every answer cell of the source notebooks, run in one namespace."""
    from testkit.notebooks import solution_functions as answers_of

    return answers_of(source_notebooks())
