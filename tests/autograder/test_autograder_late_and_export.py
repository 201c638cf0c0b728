"""Late penalties as stock ``nbgrader autograde`` applies them (same plugin, same config, same
numbers in ``nbgrader export``), with times taken only from the instructor's tools, and an
``nbgrader export`` that keeps every id in its column and evaluates no formula."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from grading_helpers import ASSIGNMENT, generate_assignment, grade, nbgrader
from nbgrader.api import Gradebook

from autograder.export import COLUMNS
from testkit.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow
DUE = "2026-11-15 12:00:00 UTC"
FULL = EXPECTED_SCORES[None]
# student -> (bug, the time nbgrader collect recorded): graded by both graders.
COLLECTED = {
    "late": (None, "2026-11-16 09:00:00.000000 UTC"),
    "on_time": ("stride_ignored", "2026-11-14 09:00:00.000000 UTC"),
}
# student -> member date the LMS wrote, and the time the student's own timestamp.txt claims.
ZIPPED = {
    "zipped_late": ((2026, 11, 20, 8, 0, 0), "2000-01-01 00:00:00 UTC"),
    "zipped_on_time": ((2026, 11, 10, 8, 0, 0), "2030-01-01 00:00:00 UTC"),
}
SPREADSHEET_IDS = {"Smith, John_1234": "Smith, John_1234", "@SUM": "'@SUM"}


def _late_course(course: Path, root: Path) -> Path:
    """A copy of the course with a due date and nbgrader's 'zero' late penalty."""
    root.mkdir()
    shutil.copy(course / "nbgrader_config.py", root)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    shutil.copytree(course / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    generate_assignment(root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    return root


def _source(course: Path) -> Path:
    return course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _collect(course: Path, folder: Path, students: dict) -> None:
    """``submitted/<student>/<assignment>/`` with nbgrader collect's timestamp.txt."""
    for student, (bug, when) in students.items():
        target = folder / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(make_submission(_source(course), bug), target / f"{ASSIGNMENT}.ipynb")
        (target / "timestamp.txt").write_text(when)


def _lms_zip(course: Path, archive: Path) -> None:
    text = nbformat.writes(make_submission(_source(course), None)).encode()
    with zipfile.ZipFile(archive, "w") as zf:
        for student, (date, claimed) in ZIPPED.items():
            zf.writestr(zipfile.ZipInfo(f"{student}/{ASSIGNMENT}.ipynb", date), text)
            zf.writestr(zipfile.ZipInfo(f"{student}/timestamp.txt", date), claimed)


def _export(course: Path, destination: Path) -> list[list[str]]:
    nbgrader(course, "export", "--to", str(destination))
    with open(destination, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _by_student(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *body = rows
    assert tuple(header) == COLUMNS
    assert all(len(row) == len(COLUMNS) for row in body), body
    return {row[3]: dict(zip(header, row, strict=True)) for row in body}


@pytest.fixture(scope="module")
def exports(course: Path, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("late")
    ours, stock = _late_course(course, work / "ours"), _late_course(course, work / "stock")
    _collect(course, ours / "submitted", COLLECTED)
    _collect(
        course,
        ours / "submitted",
        {sid: (None, "2026-11-14 09:00:00 UTC") for sid in SPREADSHEET_IDS},
    )
    _collect(course, stock / "submitted", COLLECTED)
    _lms_zip(course, work / "class.zip")
    for submissions in (ours / "submitted", work / "class.zip"):
        run = grade(ours, submissions, work / "out" / submissions.stem)
        assert run.returncode == 0, run.stderr[-3000:]
    nbgrader(stock, "autograde", ASSIGNMENT, "--create")
    first = _export(ours, work / "ours.csv")
    again = grade(ours, ours / "submitted", work / "out" / "submitted")  # a resumed run
    assert again.returncode == 0, again.stderr[-3000:]
    return {
        "ours": _by_student(first),
        "again": _by_student(_export(ours, work / "again.csv")),
        "stock": _by_student(_export(stock, work / "stock.csv")),
    }


FIELDS = ("timestamp", "raw_score", "late_submission_penalty", "score", "max_score")


def test_penalties_are_stock_nbgraders(exports):
    for student in COLLECTED:
        ours = {f: exports["ours"][student][f] for f in FIELDS}
        assert ours == {f: exports["stock"][student][f] for f in FIELDS}, student
    late, on_time = exports["ours"]["late"], exports["ours"]["on_time"]
    assert float(late["late_submission_penalty"]) == float(late["raw_score"]) == FULL
    assert float(late["score"]) == 0
    assert float(on_time["late_submission_penalty"]) == 0
    assert float(on_time["score"]) == EXPECTED_SCORES["stride_ignored"]


def test_zip_times_are_the_lms_dates_not_the_students_file(exports):
    late, on_time = exports["ours"]["zipped_late"], exports["ours"]["zipped_on_time"]
    assert late["timestamp"].startswith("2026-11-20 08:00:00")
    assert float(late["late_submission_penalty"]) == FULL and float(late["score"]) == 0
    assert on_time["timestamp"].startswith("2026-11-10 08:00:00")
    assert float(on_time["late_submission_penalty"]) == 0 and float(on_time["score"]) == FULL


def test_a_resumed_run_keeps_the_penalties(exports):
    assert exports["again"] == exports["ours"]


def test_export_keeps_ids_in_their_column_and_evaluates_nothing(exports):
    for shown in SPREADSHEET_IDS.values():
        row = exports["ours"][shown]
        assert float(row["score"]) == FULL and row["assignment"] == ASSIGNMENT
        assert float(row["late_submission_penalty"]) == 0
