"""Diagnosed mistakes in a real grading run: a class of every mutant, the correct answers, and
two students who share a mistake nobody anticipated, graded by the real command in the sandbox.
Each mutant's feedback names its mistake with a link into the book; the correct submission's
names none; the class report's counts and groups are recomputed here from the result files."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from html import escape
from pathlib import Path

import nbformat
import pytest
from grading_helpers import ASSIGNMENT, grade, source_notebook, write_student

from autograder.mistakes import SECTIONS
from testkit.mutants import BUGS, EXPECTED_MISTAKES, expected_mistake, make_submission

pytestmark = pytest.mark.slow

BOOK_URL = "https://course.example.org/tconv/"
UNKNOWN = ("unknown_a", "unknown_b")  # the same unanticipated mistake, written two ways
JUDGED = ("graded", "partial_timeout", "timeout", "crashed")


def _unknown_mistake(source: Path, line: str) -> nbformat.NotebookNode:
    """Correct answers, except that conv_transpose1d adds 1 to its output (which
    conv1d_input_grad then inherits)."""
    nb = make_submission(source, None)
    cell = next(c for c in nb.cells if "def conv_transpose1d(" in c.source)
    ending = "    return out[0] if unbatched else out"
    assert cell.source.count(ending) == 1
    cell.source = cell.source.replace(ending, f"    {line}\n{ending}")
    return nb


def _wrong_then_hangs(source: Path) -> nbformat.NotebookNode:
    """conv_transpose2d answers the first basic case wrongly, then hangs on the next one."""
    nb = make_submission(source, None)
    index = next(i for i, c in enumerate(nb.cells) if "def conv_transpose2d(" in c.source)
    nb.cells[index].source = (
        "def conv_transpose2d(input, weight, *args, **kwargs):\n"
        "    if np.shape(input)[-2:] == (3, 3):\n"
        "        return np.zeros(np.shape(input))\n"
        "    while True:\n"
        "        pass\n"
    )
    return nb


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("diagnosis")
    submissions, out = work / "submissions", work / "out"
    source = source_notebook(course)
    write_student(submissions, "correct", make_submission(source, None))
    for bug in BUGS:
        write_student(submissions, bug, make_submission(source, bug))
    write_student(submissions, UNKNOWN[0], _unknown_mistake(source, "out = out + 1.0"))
    write_student(submissions, UNKNOWN[1], _unknown_mistake(source, "out = 1.0 + out * 1.0"))
    write_student(submissions, "wrong_then_hangs", _wrong_then_hangs(source))
    done = grade(course, submissions, out, "--workers", "2", "--book-url", BOOK_URL.rstrip("/"))
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def result(out: Path, student_id: str) -> dict:
    return json.loads((out / "results" / f"{student_id}.json").read_text("utf-8"))


def cells(out: Path, student_id: str) -> list[dict]:
    return [c for nb in result(out, student_id)["notebooks"] for c in nb["cells"]]


def feedback(out: Path, student_id: str) -> str:
    return (out / "feedback" / student_id / f"{ASSIGNMENT}.html").read_text("utf-8")


def hints(cell: dict) -> list[dict]:
    return (cell.get("diagnosis") or {}).get("hints", [])


@pytest.mark.parametrize("bug", sorted(EXPECTED_MISTAKES))
def test_each_mutants_feedback_names_its_mistake_with_a_link(graded, bug):
    failed = [c for c in cells(graded, bug) if c["score"] < c["points"]]
    assert failed
    page = feedback(graded, bug)
    for cell in failed:
        name = expected_mistake(bug, cell["grade_id"])
        hint = next((h for h in hints(cell) if h["name"] == name), None)
        assert hint is not None, (cell["grade_id"], cell.get("diagnosis"))
        assert hint["kind"] == "mistake" and hint["matched"] == hint["failed"] >= 1
        assert escape(hint["text"]) in page
        section = SECTIONS[(hint["doc"], hint["anchor"])]
        assert f"href='{escape(section.href(BOOK_URL), quote=True)}'" in page


def test_the_correct_submission_gets_no_diagnosis(graded):
    graded_cells = cells(graded, "correct")
    assert all(c["score"] == c["points"] and not c.get("diagnosis") for c in graded_cells)
    assert "class='hints'" not in feedback(graded, "correct")


def test_mutants_that_raise_get_no_diagnosis(graded):
    for bug in set(BUGS) - set(EXPECTED_MISTAKES):
        failed = [c for c in cells(graded, bug) if c["score"] < c["points"]]
        assert failed and not [c for c in failed if c.get("diagnosis")], bug


def test_nbgraders_feedback_shows_the_same_hint(graded, course):
    autograded = course / "autograded" / "kernel_flipped" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(autograded, as_version=4)
    cell = next(c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})
                and c.metadata.nbgrader["grade_id"] == "conv_transpose1d_stride2")
    (output,) = cell.outputs
    hint = hints(next(c for c in cells(graded, "kernel_flipped")
                      if c["grade_id"] == "conv_transpose1d_stride2"))[0]
    assert f"Hint: {hint['text']}" in output["traceback"]


def read_report(out: Path) -> list[dict]:
    with open(out / "report.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _from_results(out: Path) -> tuple[Counter, Counter, dict]:
    """(students per (grade_id, kind:name) of a hint, students per (grade_id, fingerprint),
    who), recomputed from the result files of the students whose notebooks ran."""
    named, shared, who = Counter(), Counter(), {}
    for path in sorted((out / "results").glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if data["status"] not in JUDGED:
            continue
        for nb in data["notebooks"]:
            for cell in nb["cells"]:
                diagnosis = cell.get("diagnosis") or {}
                for hint in diagnosis.get("hints", []):
                    key = (cell["grade_id"], f"{hint['kind']}:{hint['name']}")
                    named[key] += 1
                    who.setdefault(("mistake", *key), set()).add(data["student_id"])
                if diagnosis.get("fingerprint"):
                    key = (cell["grade_id"], f"answers:{diagnosis['fingerprint']}")
                    shared[key] += 1
                    who.setdefault(("answer_group", *key), set()).add(data["student_id"])
    return named, shared, who


def test_the_report_counts_each_diagnosis_as_the_results_hold_it(graded):
    named, shared, who = _from_results(graded)
    rows = read_report(graded)
    reported = {(r["grade_id"], r["measure"]): int(r["value"]) for r in rows
                if r["section"] == "mistake"}
    assert reported == dict(named)
    for bug in EXPECTED_MISTAKES:  # each mutant is counted under its mistake
        for cell in cells(graded, bug):
            if cell["score"] < cell["points"]:
                key = (cell["grade_id"], f"mistake:{expected_mistake(bug, cell['grade_id'])}")
                assert reported[key] >= 1
    for section in ("mistake", "answer_group"):
        members = {}
        for r in rows:
            if r["section"] == f"{section}_member":
                members.setdefault((section, r["grade_id"], r["measure"]), set()).add(
                    r["student_id"]
                )
        expected = {k: v for k, v in who.items() if k[0] == section}
        if section == "answer_group":  # only groups of two or more are listed
            expected = {k: v for k, v in expected.items() if len(v) > 1}
        assert members == expected, section
    groups = {(r["grade_id"], r["measure"]): int(r["value"]) for r in rows
              if r["section"] == "answer_group"}
    assert groups == {k: n for k, n in shared.items() if n > 1}


def test_students_sharing_an_unanticipated_mistake_form_the_largest_groups(graded):
    rows = read_report(graded)
    failed = {c["grade_id"] for c in cells(graded, UNKNOWN[0]) if c["score"] < c["points"]}
    assert {"conv_transpose1d_stride1", "conv1d_input_grad"} <= failed
    grouped = {}
    for r in rows:
        if r["section"] == "answer_group_member":
            grouped.setdefault(r["grade_id"], set()).add(r["student_id"])
    assert grouped == {grade_id: set(UNKNOWN) for grade_id in failed}
    page = (graded / "report.html").read_text("utf-8")
    table = page.split("id='answer-groups'", 1)[1].split("</table>", 1)[0]
    assert all(re.search(rf"<code>{g}</code>", table) for g in failed)
    assert "id='diagnosed'" in page


def test_a_case_that_hangs_after_a_failure_keeps_the_failure(graded):
    """Running a failed cell's other cases must not cost the student the failure's message:
    the hang is reported as an incident, the cell's verdict stays the first wrong answer."""
    data = result(graded, "wrong_then_hangs")
    by_id = {c["grade_id"]: c for c in cells(graded, "wrong_then_hangs")}
    basic = by_id["conv_transpose2d_basic"]
    assert basic["score"] == 0 and "got shape (1, 1, 3, 3)" in basic["message"]
    assert basic["diagnosis"]["failed"] == 1 and basic["diagnosis"]["fingerprint"]
    assert "timed out" in by_id["conv_transpose2d_general"]["message"]
    assert data["status"] == "partial_timeout" and "timed out" in data["message"]
    others = [c for g, c in by_id.items() if not g.startswith("conv_transpose2d")]
    assert all(c["score"] == c["points"] for c in others)
