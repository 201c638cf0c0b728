"""Grade a whole class: resume, parallel sandboxes, progress bar, atomic results."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder.assignment import Assignment, SourceNotebook
from autograder.autograded import write_autograded
from autograder.cases import build_cases, cases_digest
from autograder.class_zip import unpack_zip
from autograder.feedback import write_feedback
from autograder.gradebook import open_gradebook, record
from autograder.judge import CellResult, NotebookResult, grade_notebook
from autograder.mistakes import default_book_url
from autograder.results import StudentResult, combine, load_result, save_result, write_grades_csv
from autograder.sandbox import Layout, Limits
from autograder.slots import lease_slot
from autograder.submissions import (
    InvalidNotebook,
    Student,
    SymlinkInSubmission,
    find_notebook,
    list_students,
    read_notebook,
)


def zero_notebook(source: SourceNotebook, status: str, message: str) -> NotebookResult:
    cells = [CellResult(gid, pts, 0.0, message) for gid, pts in source.tests.items()]
    return NotebookResult(source.name, status, message, 0.0, source.max_score, cells)


def grade_student(
    student: Student, assignment: Assignment, cases, layout: Layout, limits: Limits, slot: int
) -> StudentResult:
    """Never raises for anything a submission can do; grader faults become status 'error'."""
    if student.problem:
        notebooks = [zero_notebook(s, "error", student.problem) for s in assignment.notebooks]
        return combine(
            student.student_id,
            assignment.name,
            assignment.max_score,
            [nb.to_json() for nb in notebooks],
        )
    started = time.monotonic()
    deadline = started + limits.submission_seconds
    notebooks, parsed = [], {}
    for source in assignment.notebooks:
        try:
            path = find_notebook(student.folder, assignment.name, source.name)
        except SymlinkInSubmission as exc:
            notebooks.append(zero_notebook(source, "error", str(exc)))
            continue
        if path is None:
            notebooks.append(
                zero_notebook(source, "missing_notebook", f"{source.name}.ipynb not found")
            )
            continue
        try:
            nb = parsed[source.name] = read_notebook(path)
            notebooks.append(grade_notebook(nb, source, cases, layout, limits, slot, deadline))
        except InvalidNotebook as exc:
            notebooks.append(zero_notebook(source, "invalid_notebook", str(exc)))
        except Exception as exc:  # the grader's own fault: report it, keep the batch going
            notebooks.append(
                zero_notebook(source, "error", f"grader error: {type(exc).__name__}: {exc}")
            )
    result = combine(
        student.student_id,
        assignment.name,
        assignment.max_score,
        [nb.to_json() for nb in notebooks],
    )
    result.timestamp = student.submitted_at
    result.seconds = round(time.monotonic() - started, 3)
    write_autograded(assignment, student.student_id, parsed, result)
    return result


def grading_fingerprint(assignment: Assignment, cases: dict) -> str:
    """Changes whenever the graded cells, their points, the judge's cases (calls, expected
    outputs, tolerances) or the judge itself change."""
    digest = hashlib.sha256()
    for nb in assignment.notebooks:
        digest.update(json.dumps([nb.name, nb.tests, nb.locked], sort_keys=True).encode())
    digest.update(cases_digest(cases).encode())
    for module in ("judge.py", "runner.py"):
        digest.update((Path(__file__).with_name(module)).read_bytes())
    return digest.hexdigest()[:16]


def collect_students(assignment: Assignment, submissions: Path, scratch: Path) -> list[Student]:
    if submissions.is_file() and submissions.suffix.lower() == ".zip":
        names = tuple(nb.name for nb in assignment.notebooks)
        return unpack_zip(submissions, scratch / "unpacked", assignment.name, names)
    if submissions.is_dir():
        return list_students(submissions, assignment.name)
    raise FileNotFoundError(f"{submissions} is neither a folder of submissions nor a .zip")


def in_a_slot(function, *args):
    """Run ``function(*args, slot)`` in a slot (a sandbox uid and cgroup) no one else holds."""
    with lease_slot() as slot:
        return function(*args, slot)


def _is_problem(result: StudentResult) -> bool:
    return result.status != "graded"


@dataclass
class Batch:
    """Everything one grading run shares; results are written only from the main thread."""

    assignment: Assignment
    cases: dict
    layout: Layout
    limits: Limits
    out: Path
    gradebook: object
    fingerprint: str
    results: dict[str, StudentResult] = field(default_factory=dict)
    book_url: str = ""  # where the feedback pages' links into the book point


def grade_batch(
    assignment: Assignment,
    submissions: Path,
    out: Path,
    workers: int,
    force: bool,
    layout: Layout,
    limits: Limits,
    book_url: str | None = None,
) -> list[StudentResult]:
    """``book_url``: the root of the course's built book, for the feedback pages' links; by
    default the relative path from a feedback page to the course's ``_build/html``."""
    out.mkdir(parents=True, exist_ok=True)
    cases = build_cases([gid for nb in assignment.notebooks for gid in nb.tests])
    with (
        open_gradebook(assignment) as gradebook,
        tempfile.TemporaryDirectory(prefix="autograder-") as scratch,
    ):
        batch = Batch(
            assignment,
            cases,
            layout,
            limits,
            out,
            gradebook,
            grading_fingerprint(assignment, cases),
        )
        # Every student's pages are one level below out/feedback, so one relative path serves.
        batch.book_url = book_url or default_book_url(assignment.root, out / "feedback" / "id")
        students = collect_students(assignment, submissions, Path(scratch))
        todo = []
        for student in students:
            earlier = None
            if not force and student.folder is not None:
                earlier = load_result(out, student.student_id, assignment.name, batch.fingerprint)
            if earlier is not None and _recorded(batch, earlier):
                batch.results[student.student_id] = earlier
            else:
                todo.append(student)
        write_grades_csv(out, list(batch.results.values()))
        _run_pool(batch, todo, workers)
    return [batch.results[s.student_id] for s in students if s.student_id in batch.results]


def _recorded(batch: Batch, result: StudentResult) -> bool:
    """Record a finished result again, so that the gradebook holds it even if it was replaced
    since (its scores were stored before its file); one the gradebook refuses is graded again
    rather than stopping the batch."""
    try:
        record(batch.gradebook, batch.assignment, result)
    except Exception:
        return False
    return True


def _error_result(batch: Batch, student: Student, exc: Exception) -> StudentResult:
    message = f"grader error: {type(exc).__name__}: {exc}"
    notebooks = [zero_notebook(nb, "error", message).to_json() for nb in batch.assignment.notebooks]
    return combine(student.student_id, batch.assignment.name, batch.assignment.max_score, notebooks)


def _store(batch: Batch, result: StudentResult) -> None:
    """The result file comes last: a run stopped at any moment (a signal, even SIGKILL) leaves
    either no result file, and the student is graded again, or a result whose feedback and
    gradebook scores were stored before it (a resumed run records the scores again anyway)."""
    write_feedback(batch.out, result, batch.book_url)
    record(batch.gradebook, batch.assignment, result)
    save_result(batch.out, result)


def _finish(batch: Batch, student: Student, result: StudentResult) -> None:
    result.fingerprint = batch.fingerprint
    if student.folder is not None:  # unsafe ids never become paths or gradebook entries
        try:
            _store(batch, result)
        except Exception as exc:  # a result the grader cannot store costs one row, not the batch
            result = _error_result(batch, student, exc)
            result.fingerprint = ""  # never resumed from: graded again next run
    batch.results[result.student_id] = result
    write_grades_csv(batch.out, list(batch.results.values()))


def _outcome(batch: Batch, future: Future, student: Student) -> StudentResult:
    try:
        return future.result()
    except Exception as exc:  # a grader bug must cost one row, not the batch
        return _error_result(batch, student, exc)


def _run_pool(batch: Batch, todo: list[Student], workers: int) -> None:
    bar = tqdm(
        total=len(todo),
        unit="submission",
        desc=f"grading {batch.assignment.name}",
        dynamic_ncols=True,
    )
    problems = 0
    executor = ThreadPoolExecutor(max_workers=workers)
    try:
        futures: dict[Future, Student] = {
            executor.submit(
                in_a_slot,
                grade_student,
                s,
                batch.assignment,
                batch.cases,
                batch.layout,
                batch.limits,
            ): s
            for s in todo
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                result = _outcome(batch, future, futures[future])
                _finish(batch, futures[future], result)
                problems += _is_problem(result)
                bar.update(1)
                bar.set_postfix(done=bar.n, failed=problems, remaining=bar.total - bar.n)
    except BaseException:
        # Stopped (a signal's KeyboardInterrupt): queued students are dropped and nobody waits
        # for the submissions in progress; their results were never stored, so a resumed run
        # grades them. The caller leaves without waiting for the worker threads.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
    executor.shutdown(wait=True)
