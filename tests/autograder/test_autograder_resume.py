"""Interrupting a batch (Ctrl-C, then SIGKILL) loses no grade; a re-run completes it,
``--force`` regrades to identical grades, and the gradebook agrees with grades.csv."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import (
    ASSIGNMENT,
    BIN,
    FORMGRADER_TOKEN,
    formgrader,
    get_page,
    grade,
    grade_command,
    grader_env,
    hidden_test_lines,
    read_grades,
    read_result,
    source_notebook,
    visible_text,
)
from nbgrader.api import Gradebook

from autograder.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow
BUGS = [
    None,
    "kernel_flipped",
    None,
    "stride_ignored",
    "only_1d",
    None,
    "bias_ignored",
    "wraps_torch",
]


def _class(course: Path, folder: Path) -> dict[str, float]:
    """Eight students whose notebooks each pause a second, so a batch can be caught midway."""
    expected = {}
    for number, bug in enumerate(BUGS):
        nb = make_submission(source_notebook(course), bug)
        nb.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(1)"))
        student = f"student{number:02d}"
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / f"{ASSIGNMENT}.ipynb")
        expected[student] = EXPECTED_SCORES[bug]
    return expected


def _start(course: Path, folder: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        grade_command(folder, out, "--workers", "1"),
        cwd=course,
        env=grader_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_results(out: Path, count: int, process: subprocess.Popen) -> None:
    end = time.monotonic() + 120
    while len(list((out / "results").glob("*.json"))) < count:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < end, "no progress"
        time.sleep(0.05)


def _snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "results").glob("*.json")
    }


def test_interrupted_batch_resumes_without_loss(course: Path, tmp_path: Path):
    folder, out = tmp_path / "submitted", tmp_path / "out"
    expected = _class(course, folder)

    first = _start(course, folder, out)
    _wait_for_results(out, 1, first)
    first.send_signal(signal.SIGINT)  # Ctrl-C
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr[-2000:]
    assert "resume" in stderr

    second = _start(course, folder, out)
    _wait_for_results(out, len(_snapshot(out)) + 2, second)
    second.kill()  # SIGKILL: no cleanup code runs at all
    second.communicate(timeout=60)
    before = _snapshot(out)
    assert 3 <= len(before) < len(BUGS)

    third = grade(course, folder, out, "--workers", "1")
    assert third.returncode == 0, third.stderr[-3000:]
    after = _snapshot(out)
    assert {name: after[name] for name in before} == before, "finished grades were redone"
    rows = read_grades(out)
    assert {s: float(r["score"]) for s, r in rows.items()} == expected
    assert {r["status"] for r in rows.values()} == {"graded"}

    resumed_csv = (out / "grades.csv").read_bytes()
    again = grade(course, folder, out, "--workers", "2", "--force")
    assert again.returncode == 0, again.stderr[-3000:]
    regraded = _snapshot(out)
    assert all(regraded[name][1] != before[name][1] for name in before), "--force did not regrade"
    assert (out / "grades.csv").read_bytes() == resumed_csv, "a re-run changed the grades"


def test_nbgrader_export_and_feedback_see_the_results(course: Path, tmp_path: Path):
    """`nbgrader export` reads our scores; `nbgrader generate_feedback` renders our autograded
    notebooks (what formgrader shows) with the hidden tests cleared."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    folder.mkdir()
    expected = {}
    for number, bug in enumerate([None, "padding_ignored"]):
        student = f"exported{number}"
        (folder / student / ASSIGNMENT).mkdir(parents=True)  # as `nbgrader collect` lays it out
        nb = make_submission(source_notebook(course), bug)
        nbformat.write(nb, folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        expected[student] = EXPECTED_SCORES[bug]
    # as `nbgrader collect` records it; the late penalty depends on it
    (folder / "exported0" / ASSIGNMENT / "timestamp.txt").write_text(
        "2026-11-20 10:00:00.000000 UTC"
    )
    assert grade(course, folder, out).returncode == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        stamp = gb.find_submission(ASSIGNMENT, "exported0").timestamp
        assert (stamp.year, stamp.month, stamp.day, stamp.hour) == (2026, 11, 20, 10)
    export = tmp_path / "export.csv"
    for command in (
        ["export", "--to", str(export)],
        ["generate_feedback", ASSIGNMENT, "--student", "exported1"],
    ):
        result = subprocess.run(
            [str(BIN / "nbgrader"), *command],
            cwd=course,
            env=grader_env(),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    with open(export, newline="") as fh:
        exported = {
            r["student_id"]: float(r["score"])
            for r in csv.DictReader(fh)
            if r["student_id"] in expected
        }
    assert exported == expected
    page = course / "feedback" / "exported1" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    text = visible_text(page.read_text("utf-8"))
    assert "conv_transpose1d_padding" in text
    assert not [line for line in hidden_test_lines(course) if line in text]


def test_formgrader_shows_the_verdicts(course: Path, tmp_path: Path):
    """Formgrader's manual-review page opens our autograded notebook with the judge's verdict."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    (folder / "reviewed").mkdir(parents=True)
    nb = make_submission(source_notebook(course), "stride_ignored")
    script = "<script>alert('from a student')</script>"  # an output nobody re-created
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/html": script})]
    nbformat.write(nb, folder / "reviewed" / f"{ASSIGNMENT}.ipynb")
    assert grade(course, folder, out).returncode == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "reviewed")
        notebook_id, score = notebook.id, notebook.score
    assert score == EXPECTED_SCORES["stride_ignored"]
    with formgrader(course) as url:
        page = get_page(f"{url}/formgrader/submissions/{notebook_id}/?token={FORMGRADER_TOKEN}")
    text = " ".join(visible_text(page).split())
    failed = read_result(out, "reviewed")["notebooks"][0]["cells"]
    message = next(c["message"] for c in failed if c["grade_id"] == "conv_transpose1d_stride2")
    assert message in text
    assert "from a student" not in page
