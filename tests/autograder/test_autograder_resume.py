"""Stopping a batch loses no grade and leaves nothing running. Ctrl-C, ``kill -INT`` or a
scheduler's SIGTERM stops it within two seconds at any moment (before the first sandbox, in the
middle of a student's cell, while a result is being stored), however the grader was started; a
SIGKILL stops it too. A re-run completes what is missing, ``--force`` regrades to identical
grades, and the gradebook agrees with grades.csv."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import (
    ASSIGNMENT,
    BIN,
    FORMGRADER_TOKEN,
    LIMITS,
    formgrader,
    get_page,
    grade,
    grade_command,
    grader_env,
    hidden_test_lines,
    read_grades,
    read_result,
    sandbox_has_file,
    signals_caught,
    source_notebook,
    visible_text,
    wait_until,
)
from nbgrader.api import Gradebook, MissingEntry

from autograder import batch, gradebook
from autograder.__main__ import Interrupted
from autograder.assignment import load_assignment
from autograder.results import write_atomic
from autograder.sandbox import Limits, discover_layout
from testkit.mutants import EXPECTED_SCORES, make_submission
from testkit.processes import process_tree, still_running

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
STOP_SECONDS = 2.0  # what the grader promises between a stop signal and its exit
# A student cell that says, in its sandbox's private /tmp, that it is running, then runs on for
# ten minutes: a batch holding it cannot end before the test has acted.
HELD = "held-mid-cell"
HELD_CELL = f"open('/tmp/{HELD}', 'w').close()\nimport time\ntime.sleep(600)"
# A run that is meant to be stopped lets that cell run; its re-run has the corpus's short limits,
# so the cell is skipped after 4 s and the rest of that notebook is graded.
UNTIL_STOPPED = {"AUTOGRADER_CELL_TIMEOUT": "900", "AUTOGRADER_SUBMISSION_TIMEOUT": "900"}
# How the shell that started the grader left SIGINT: a background job of a non-interactive
# shell, or nohup, starts it ignored (POSIX); the grader must stop on it all the same.
SIGINT_AS_LEFT = {"foreground": "SIG_DFL", "background": "SIG_IGN"}
LAUNCH = (
    "import os, signal, sys\n"
    "signal.signal(signal.SIGINT, getattr(signal, sys.argv[1]))\n"
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def _notebook(course: Path, bug: str | None, held: bool = False) -> nbformat.NotebookNode:
    nb = make_submission(source_notebook(course), bug)
    if held:
        nb.cells.insert(2, nbformat.v4.new_code_cell(HELD_CELL))
    return nb


def _write_class(course: Path, folder: Path, bugs: dict[str, tuple[str | None, bool]]):
    """student -> (bug, held); returns student -> the (status, score) a complete run gives."""
    expected = {}
    for student, (bug, held) in bugs.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(_notebook(course, bug, held), folder / student / f"{ASSIGNMENT}.ipynb")
        expected[student] = ("partial_timeout" if held else "graded", EXPECTED_SCORES[bug])
    return expected


def _start(course: Path, folder: Path, out: Path, launch: str = "foreground", workers: int = 1):
    """The grade command, started as a shell in ``launch`` mode starts it; its output goes to
    files (a full pipe nobody reads would stop it), its temporary files to a folder of the
    test's (a SIGKILL leaves them, and a stop signal must not)."""
    log, scratch = out.parent / f"{out.name}.log", out.parent / f"{out.name}.tmp"
    scratch.mkdir(exist_ok=True)
    with open(log, "a") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, SIGINT_AS_LEFT[launch],
             *grade_command(folder, out, "--workers", str(workers))],
            cwd=course,
            env=grader_env(**UNTIL_STOPPED, TMPDIR=str(scratch)),
            stdout=output,
            stderr=output,
        )
    process.log, process.scratch = log, scratch
    return process


def _stop(process: subprocess.Popen, signum: int) -> float:
    """Send ``signum``; the seconds until the process had ended."""
    sent = time.monotonic()
    process.send_signal(signum)
    process.wait(timeout=120)
    return time.monotonic() - sent


def _results(out: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.stem: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "results").glob("*.json")
    }


def _gradebook_scores(course: Path, students) -> dict[str, float | None]:
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            try:
                scores[student] = gb.find_submission(ASSIGNMENT, student).score
            except MissingEntry:  # never recorded
                scores[student] = None
    return scores


def check_nothing_half_stored(
    course: Path, out: Path, killed: bool = False
) -> dict[str, tuple[bytes, int]]:
    """What a stopped run left: no temporary file, and every result file complete, with its
    feedback pages written and its scores in the gradebook before it; grades.csv shows only
    those results. Returns the result files (to check that a re-run keeps them). A SIGKILL
    (``killed``) may land inside a write: its temporary file then stays, under a name no
    reader takes for a result; the files that were stored are still whole."""
    leftovers = [p for p in out.rglob(".*.tmp*")]
    assert killed or not leftovers, f"half-written files: {leftovers}"
    results = {sid: json.loads(data) for sid, (data, _) in _results(out).items()}
    for student, result in results.items():
        for notebook in result["notebooks"]:
            assert (out / "feedback" / student / f"{notebook['notebook']}.html").is_file()
    recorded = _gradebook_scores(course, results)
    assert recorded == {sid: result["score"] for sid, result in results.items()}
    if (out / "grades.csv").exists():
        rows = read_grades(out)
        assert set(rows) <= set(results), "grades.csv shows a result that was not stored"
        assert all(float(rows[s]["score"]) == results[s]["score"] for s in rows)
    return _results(out)


@pytest.fixture
def grade_here(course: Path, monkeypatch):
    """A function grading ``folder`` into ``out`` with the grader's batch in this process, as the
    command does once it has checked the sandbox (with the corpus's limits): a re-run that
    costs no second start of torch and nbgrader."""
    for name, value in LIMITS.items():
        monkeypatch.setenv(name, value)
    assignment, layout = load_assignment(ASSIGNMENT, course), discover_layout()

    def run(folder: Path, out: Path) -> None:
        pool = batch.LocalPool(assignment, 1, layout, Limits.from_env())
        batch.grade_batch(assignment, folder, out, False, pool)

    return run


def check_resumed(course: Path, out: Path, expected: dict, kept: dict, rerun) -> None:
    """``rerun()``, the same batch run again, finishes the class: every student's row, results
    kept from the stopped run untouched, the gradebook and the feedback agree with grades.csv."""
    rerun()
    rows = read_grades(out)
    assert {s: (r["status"], float(r["score"])) for s, r in rows.items()} == expected
    after = _results(out)
    assert {s: after[s] for s in kept} == kept, "a finished result was graded again"
    assert _gradebook_scores(course, rows) == {s: float(r["score"]) for s, r in rows.items()}
    assert all((out / "feedback" / s / f"{ASSIGNMENT}.html").is_file() for s in rows)


def test_interrupted_batch_resumes_without_loss(course: Path, tmp_path: Path):
    """Ctrl-C, then SIGKILL, then the command again, then a regrade."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    bugs = {f"student{n:02d}": (bug, n == len(BUGS) - 1) for n, bug in enumerate(BUGS)}
    expected = _write_class(course, folder, bugs)  # the last student holds the batch

    first = _start(course, folder, out)
    wait_until(lambda: _results(out), 300, "finished result", first)
    assert _stop(first, signal.SIGINT) < STOP_SECONDS
    assert first.returncode == 128 + signal.SIGINT, first.log.read_text()[-2000:]
    assert "resume" in first.log.read_text()
    assert not list(first.scratch.iterdir()), "the stopped grader left temporary files"
    finished = len(check_nothing_half_stored(course, out))

    second = _start(course, folder, out)
    wait_until(lambda: len(_results(out)) >= finished + 2, 300, "two more results", second)
    second.kill()  # SIGKILL: no cleanup code runs at all
    second.wait(timeout=60)
    before = check_nothing_half_stored(course, out, killed=True)
    assert 3 <= len(before) < len(BUGS)

    def the_command_again():
        again = grade(course, folder, out, "--workers", "1")
        assert again.returncode == 0, again.stderr[-3000:]

    check_resumed(course, out, expected, before, the_command_again)
    resumed_csv = (out / "grades.csv").read_bytes()
    again = grade(course, folder, out, "--workers", "2", "--force")
    assert again.returncode == 0, again.stderr[-3000:]
    regraded = _results(out)
    assert all(regraded[name][1] != before[name][1] for name in before), "--force did not regrade"
    assert (out / "grades.csv").read_bytes() == resumed_csv, "a re-run changed the grades"


def _handlers_installed(process: subprocess.Popen) -> bool:
    return {signal.SIGINT, signal.SIGTERM} <= signals_caught(process.pid)


@pytest.mark.parametrize(
    "moment, launch, signum",
    [  # a Ctrl-C in the foreground: test_interrupted_batch_resumes_without_loss
        ("before the first sandbox", "background", signal.SIGINT),
        ("mid-cell", "background", signal.SIGINT),
        ("mid-cell", "foreground", signal.SIGTERM),
    ],
    ids=lambda value: value.name if isinstance(value, signal.Signals) else value,
)
def test_a_stop_signal_ends_the_batch_within_two_seconds(
    course: Path, tmp_path: Path, grade_here, moment: str, launch: str, signum: signal.Signals
):
    """Stopped before any sandbox started, or while a student's cell runs (the student before
    it finished): the grader exits with 128 + the signal within STOP_SECONDS, nothing it started
    still runs, the finished result is kept whole and the re-run grades the rest."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    done, held = f"done_{tmp_path.name}", f"held_{tmp_path.name}"  # graded in this order
    expected = _write_class(course, folder, {done: (None, False), held: ("only_1d", True)})
    grader = _start(course, folder, out, launch)
    if moment == "before the first sandbox":
        wait_until(lambda: _handlers_installed(grader), 60, "signal handlers", grader)
    else:
        wait_until(lambda: done in _results(out) and sandbox_has_file(grader.pid, HELD),
                   300, "held cell running after a finished student", grader)
    started = process_tree(grader.pid)
    assert _stop(grader, signum) < STOP_SECONDS
    assert grader.returncode == 128 + signum, grader.log.read_text()[-2000:]
    wait_until(lambda: not still_running(started), STOP_SECONDS, "end of the grader's sandboxes")
    assert not list(grader.scratch.iterdir()), "the stopped grader left temporary files"
    kept = check_nothing_half_stored(course, out)
    assert set(kept) == (set() if moment == "before the first sandbox" else {done})
    check_resumed(course, out, expected, kept, lambda: grade_here(folder, out))


# Where storing one result can be stopped: before each of its steps, and in the middle of the
# gradebook's transaction. Each is (the module and the function the step calls, which call of
# it, whether the result is stored by then).
STORE_MOMENTS = {
    "before the feedback page": (batch, "write_feedback", 1, False),
    "before the gradebook": (batch, "record", 1, False),
    "in the gradebook's transaction": (gradebook, "_penalty_may_change", 1, False),
    "before the result file": (batch, "save_result", 1, False),
    "before grades.csv": (batch, "write_grades_csv", 2, True),  # the first is the run's own
}


@pytest.mark.parametrize("moment", STORE_MOMENTS)
def test_a_stop_while_a_result_is_stored_loses_nothing(course, tmp_path, grade_here, moment):
    """The grader's own batch, in this process, stopped as its signal handler stops it (by
    raising Interrupted in the main thread) at each moment of storing a result: nothing is half
    stored, and the re-run completes the class."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    student = f"stored_{tmp_path.name}"
    expected = _write_class(course, folder, {student: ("kernel_flipped", False)})
    module, name, nth, stored = STORE_MOMENTS[moment]
    step, calls = getattr(module, name), []

    def stopped(*args, **kwargs):
        calls.append(name)
        if len(calls) == nth:
            raise Interrupted(signal.SIGINT)
        return step(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, name, stopped)
        with pytest.raises(Interrupted):
            grade_here(folder, out)
    kept = check_nothing_half_stored(course, out)
    assert set(kept) == ({student} if stored else set())
    check_resumed(course, out, expected, kept, lambda: grade_here(folder, out))


def test_a_stop_inside_a_write_leaves_the_old_file_whole_and_no_half_one(tmp_path, monkeypatch):
    path = tmp_path / "grades.csv"
    write_atomic(path, "the grades before")

    def stopped_before_the_rename(*args):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(os, "replace", stopped_before_the_rename)
    with pytest.raises(Interrupted):
        write_atomic(path, "the grades after")
    monkeypatch.undo()
    assert path.read_text() == "the grades before"
    assert list(tmp_path.iterdir()) == [path]


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
