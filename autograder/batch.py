"""Grade a whole class: resume, parallel sandboxes, progress bar, atomic results."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import queue
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder.assignment import Assignment, SourceNotebook
from autograder.autograded import write_autograded
from autograder.class_zip import unpack_zip
from autograder.feedback import write_feedback
from autograder.gradebook import GROUP_SIZE, open_gradebook, record
from autograder.judge import CellResult, NotebookResult, grade_notebook
from autograder.mistakes import default_book_url
from autograder.results import StudentResult, combine, load_result, save_result, write_grades_csv
from autograder.sandbox import Layout, Limits, SandboxUnavailable
from autograder.slots import lease_slot
from autograder.submissions import (
    InvalidNotebook,
    Student,
    SymlinkInSubmission,
    find_notebook,
    list_students,
    parse_notebook,
    read_notebook_bytes,
)


def zero_notebook(source: SourceNotebook, status: str, message: str) -> NotebookResult:
    cells = [CellResult(gid, pts, 0.0, message) for gid, pts in source.tests.items()]
    return NotebookResult(source.name, status, message, 0.0, source.max_score, cells)


@dataclass(frozen=True)
class Submission:
    """What the grader reads of one student, as bytes, so that it can be graded anywhere: in a
    thread of this process or on a Dask worker that shares no files with this machine."""

    student_id: str
    submitted_at: str | None  # UTC time from the instructor's tools, or None
    problem: str | None  # why this student cannot be graded at all
    # notebook name -> the file's bytes, or (status, message) when there is no file to grade
    notebooks: dict[str, bytes | tuple[str, str]] = field(default_factory=dict)
    # notebook name -> parsed notebook or InvalidNotebook: parsed once wherever it is graded,
    # and by the thread that stores the result only if graded elsewhere (a large notebook's
    # validation takes seconds, holding the GIL)
    _parsed: dict = field(default_factory=dict, compare=False, repr=False)

    def parsed(self, name: str):
        """The notebook's parsed form, or InvalidNotebook saying why it has none."""
        if name not in self._parsed:
            try:
                self._parsed[name] = parse_notebook(self.notebooks[name])
            except InvalidNotebook as exc:
                self._parsed[name] = exc
        found = self._parsed[name]
        if isinstance(found, InvalidNotebook):
            raise found
        return found


def _read_one(student: Student, assignment: Assignment, source: SourceNotebook):
    try:
        path = find_notebook(student.folder, assignment.name, source.name)
    except SymlinkInSubmission as exc:
        return ("error", str(exc))
    if path is None:
        return ("missing_notebook", f"{source.name}.ipynb not found")
    try:
        return read_notebook_bytes(path)
    except InvalidNotebook as exc:
        return ("invalid_notebook", str(exc))
    except Exception as exc:  # an unreadable disk: the grader's fault, this student's row only
        return ("error", f"grader error: {type(exc).__name__}: {exc}")


def read_submission(student: Student, assignment: Assignment) -> Submission:
    """The student's notebooks, read with every check a file on disk needs (no symbolic link
    followed, bounded size). Their contents are checked where they are graded."""
    if student.problem:
        return Submission(student.student_id, student.submitted_at, student.problem)
    notebooks = {s.name: _read_one(student, assignment, s) for s in assignment.notebooks}
    return Submission(student.student_id, student.submitted_at, None, notebooks)


def parsed_notebooks(submission: Submission) -> dict:
    """notebook name -> the parsed notebook, for those of the submission that parse."""
    parsed = {}
    for name, found in submission.notebooks.items():
        if isinstance(found, bytes):
            with contextlib.suppress(InvalidNotebook):
                parsed[name] = submission.parsed(name)
    return parsed


def grade_submission(
    submission: Submission, assignment: Assignment, cases, layout: Layout, limits: Limits, slot: int
) -> StudentResult:
    """The one grading function, wherever it runs (a local thread, a Dask worker); it reads
    and writes no file. Never raises for anything a submission can do; grader faults become
    status 'error', except a sandbox this machine cannot start (SandboxUnavailable), which is
    no verdict on the student at all."""
    if submission.problem:
        notebooks = [zero_notebook(s, "error", submission.problem) for s in assignment.notebooks]
        return combine(
            submission.student_id,
            assignment.name,
            assignment.max_score,
            [nb.to_json() for nb in notebooks],
        )
    started = time.monotonic()
    deadline = started + limits.submission_seconds
    notebooks = []
    for source in assignment.notebooks:
        found = submission.notebooks[source.name]
        if not isinstance(found, bytes):
            notebooks.append(zero_notebook(source, *found))
            continue
        try:
            nb = submission.parsed(source.name)
            notebooks.append(grade_notebook(nb, source, cases, layout, limits, slot, deadline))
        except InvalidNotebook as exc:
            notebooks.append(zero_notebook(source, "invalid_notebook", str(exc)))
        except SandboxUnavailable:
            raise
        except Exception as exc:  # the grader's own fault: report it, keep the batch going
            notebooks.append(
                zero_notebook(source, "error", f"grader error: {type(exc).__name__}: {exc}")
            )
    result = combine(
        submission.student_id,
        assignment.name,
        assignment.max_score,
        [nb.to_json() for nb in notebooks],
    )
    result.timestamp = submission.submitted_at
    result.seconds = round(time.monotonic() - started, 3)
    return result


# Every file a verdict depends on: the judge, the contract's calls, and the references and
# tolerances in tconv.testing. With torch's version, they decide what a case expects.
GRADER_MODULES = (
    "autograder.cases",
    "autograder.contract",
    "autograder.judge",
    "autograder.runner",
    "tconv.testing",
)


def grading_fingerprint(assignment: Assignment) -> str:
    """Changes whenever the graded cells, their points, the judge's cases (calls, references,
    tolerances, torch's answers) or the judge itself change; a result from other ones is
    graded again. A Dask worker refuses to grade when its own differs from the client's."""
    digest = hashlib.sha256()
    for nb in assignment.notebooks:
        digest.update(json.dumps([nb.name, nb.tests, nb.locked], sort_keys=True).encode())
    digest.update(_grader_code())
    return digest.hexdigest()[:16]


@functools.cache
def _grader_code() -> bytes:
    """The source of the modules a verdict depends on, wherever each is installed (an
    ordinary user's grader may come from another folder than tconv), and torch's version.
    Read once: a Dask worker checks it per task."""
    sources = (Path(importlib.util.find_spec(name).origin) for name in GRADER_MODULES)
    code = b"".join(source.read_bytes() for source in sources)
    return code + importlib.metadata.version("torch").encode()


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


class GradeElsewhere(Exception):
    """The machine that took a submission cannot grade (no sandbox, other grader code): the
    submission is no verdict on the student and goes to another worker."""

    def __init__(self, worker: str, reason: str):
        super().__init__(worker, reason)
        self.worker, self.reason = worker, reason

    def __str__(self) -> str:
        return f"worker {self.worker} cannot grade: {self.reason}"


class BatchStopped(RuntimeError):
    """The pool can go on with no submission (its cluster is gone); what is stored stays."""


class LocalPool:
    """Threads of this process, each grading one submission at a time in a slot of its own."""

    def __init__(self, assignment: Assignment, workers: int, layout: Layout, limits: Limits):
        # Imported here: it loads torch, which a Dask client (autograder.cluster) never needs.
        from autograder.cases import build_cases

        self.assignment, self.layout, self.limits = assignment, layout, limits
        self.cases = build_cases([gid for nb in assignment.notebooks for gid in nb.tests])
        self.executor = ThreadPoolExecutor(max_workers=workers)
        # Submissions read ahead of the threads: enough that none waits, few enough that a
        # class of thousands is not all in memory at once.
        self.window = 2 * workers

    def submit(self, submission: Submission, avoid: frozenset = frozenset()) -> Future:
        return self.executor.submit(
            in_a_slot,
            grade_submission,
            submission,
            self.assignment,
            self.cases,
            self.layout,
            self.limits,
        )

    def outcome(self, future: Future) -> StudentResult:
        return future.result()

    def can_grade_avoiding(self, avoid: frozenset) -> bool:
        return True

    def abandon(self) -> None:
        """Stopped (a signal's KeyboardInterrupt): queued students are dropped and nobody waits
        for the submissions in progress; their results were never stored, so a resumed run
        grades them. The caller leaves without waiting for the worker threads."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _is_problem(result: StudentResult) -> bool:
    return result.status != "graded"


@dataclass
class Batch:
    """Everything one grading run shares; results are written only from the main thread."""

    assignment: Assignment
    out: Path
    gradebook: object
    fingerprint: str
    results: dict[str, StudentResult] = field(default_factory=dict)
    ungraded: list[str] = field(default_factory=list)  # no worker could grade them
    book_url: str = ""  # where the feedback pages' links into the book point


class NotAllGraded(RuntimeError):
    """Some students could not be graded anywhere; a re-run grades them (nothing was stored)."""


def grade_batch(
    assignment: Assignment,
    submissions: Path,
    out: Path,
    force: bool,
    pool,
    book_url: str | None = None,
) -> list[StudentResult]:
    """Grade every student not already graded in ``out`` with ``pool`` (a LocalPool, or
    :class:`autograder.cluster.DaskPool`); this thread alone writes ``out`` and the gradebook.
    ``book_url``: the root of the course's built book, for the feedback pages' links; by
    default the relative path from a feedback page to the course's ``_build/html``."""
    out.mkdir(parents=True, exist_ok=True)
    with (
        open_gradebook(assignment) as gradebook,
        tempfile.TemporaryDirectory(prefix="autograder-") as scratch,
    ):
        batch = Batch(assignment, out, gradebook, grading_fingerprint(assignment))
        # Every student's pages are one level below out/feedback, so one relative path serves.
        batch.book_url = book_url or default_book_url(assignment.root, out / "feedback" / "id")
        students = collect_students(assignment, submissions, Path(scratch))
        earlier = {}
        for student in students:
            if not force and student.folder is not None:
                result = load_result(out, student.student_id, assignment.name, batch.fingerprint)
                if result is not None:
                    earlier[student.student_id] = result
        # Record the finished results again, so that the gradebook holds them even if it was
        # replaced since (a result's scores are stored before its file); one the gradebook
        # refuses is graded again rather than stopping the batch.
        recorded, _ = _record_in_groups(batch, list(earlier.values()))
        batch.results.update((r.student_id, r) for r in recorded)
        todo = [s for s in students if s.student_id not in batch.results]
        write_grades_csv(out, list(batch.results.values()))
        _run_pool(batch, todo, pool)
    if batch.ungraded:
        raise NotAllGraded(
            f"{len(batch.ungraded)} students were not graded (no worker could grade them; "
            "see the warnings above); run the same command again to grade them"
        )
    return [batch.results[s.student_id] for s in students if s.student_id in batch.results]


def _record_in_groups(
    batch: Batch, results: list[StudentResult]
) -> tuple[list[StudentResult], dict[str, Exception]]:
    """Scores into the gradebook, one transaction per group of students (a few round trips
    each, however many students and cells). A group the database refuses is recorded again a
    student at a time, so that one bad result costs its own row only. Returns the results
    recorded, and why each of the others was not."""
    recorded, refused = [], {}
    for start in range(0, len(results), GROUP_SIZE):
        group = results[start : start + GROUP_SIZE]
        try:
            record(batch.gradebook, batch.assignment, group)
            recorded += group
            continue
        except Exception as exc:
            if len(group) == 1:
                refused[group[0].student_id] = exc
                continue
        for result in group:
            try:
                record(batch.gradebook, batch.assignment, [result])
                recorded.append(result)
            except Exception as exc:
                refused[result.student_id] = exc
    return recorded, refused


def _error_result(batch: Batch, student_id: str, exc: Exception) -> StudentResult:
    message = f"grader error: {type(exc).__name__}: {exc}"
    notebooks = [zero_notebook(nb, "error", message).to_json() for nb in batch.assignment.notebooks]
    return combine(student_id, batch.assignment.name, batch.assignment.max_score, notebooks)


def _unstored(batch: Batch, student_id: str, exc: Exception) -> StudentResult:
    """A result the grader could not store costs one row, not the batch; it is never resumed
    from, so the student is graded again next run."""
    result = _error_result(batch, student_id, exc)
    result.fingerprint = ""
    return result


def _finish(
    batch: Batch, finished: list[tuple[Student, Submission, StudentResult]]
) -> list[StudentResult]:
    """Store the results that finished together as one group: each student's autograded
    notebooks and feedback pages, then the group's scores in one gradebook transaction, then
    the result files last. A run stopped at any moment (a signal, even SIGKILL) leaves for each
    student either no result file, and the student is graded again, or a result whose
    autograded notebooks, feedback and gradebook scores were stored before it (a resumed run
    records the scores again anyway). Returns the rows as stored."""
    rows, storable = {}, []
    for student, submission, result in finished:
        result.fingerprint = batch.fingerprint
        rows[student.student_id] = result
        if student.folder is None:  # unsafe ids never become paths or gradebook entries
            continue
        try:
            parsed = parsed_notebooks(submission)
            write_autograded(batch.assignment, result.student_id, parsed, result)
            write_feedback(batch.out, result, batch.book_url)
            storable.append(result)
        except Exception as exc:
            rows[student.student_id] = _unstored(batch, student.student_id, exc)
    recorded, refused = _record_in_groups(batch, storable)
    for student_id, exc in refused.items():
        rows[student_id] = _unstored(batch, student_id, exc)
    for result in recorded:
        try:
            save_result(batch.out, result)
        except Exception as exc:
            rows[result.student_id] = _unstored(batch, result.student_id, exc)
    batch.results.update(rows)
    write_grades_csv(batch.out, list(batch.results.values()))
    return list(rows.values())


@dataclass
class InFlight:
    student: Student
    submission: Submission
    avoid: frozenset = frozenset()  # workers that could not grade it


def _run_pool(batch: Batch, todo: list[Student], pool) -> None:
    """Keep ``pool.window`` submissions in flight and store each result as it arrives, here,
    in this thread. A submission a worker could not grade goes to another one."""
    bar = tqdm(
        total=len(todo),
        unit="submission",
        desc=f"grading {batch.assignment.name}",
        dynamic_ncols=True,
    )
    finished: queue.Queue = queue.Queue()  # futures, as they finish, from the pool's threads
    in_flight: dict = {}
    waiting = iter(todo)
    problems = 0

    def send(job: InFlight) -> None:
        future = pool.submit(job.submission, job.avoid)
        in_flight[future] = job
        future.add_done_callback(finished.put)

    def top_up() -> None:
        while len(in_flight) < pool.window and (student := next(waiting, None)) is not None:
            send(InFlight(student, read_submission(student, batch.assignment)))

    try:
        top_up()
        while in_flight:
            # Everything that finished while the last group was stored is the next group:
            # groups grow with the rate results come in, and no result waits for company.
            ready = [finished.get()]
            while not finished.empty():
                ready.append(finished.get())
            group = []
            for future in ready:
                job = in_flight.pop(future)
                try:
                    result = pool.outcome(future)
                except GradeElsewhere as elsewhere:
                    job.avoid = job.avoid | {elsewhere.worker}
                    if pool.can_grade_avoiding(job.avoid):
                        send(job)
                    else:
                        batch.ungraded.append(job.student.student_id)
                        bar.update(1)
                    continue
                except BatchStopped:
                    raise
                except Exception as exc:  # a grader bug must cost one row, not the batch
                    result = _error_result(batch, job.student.student_id, exc)
                group.append((job.student, job.submission, result))
            for result in _finish(batch, group):
                problems += _is_problem(result)
                bar.update(1)
            bar.set_postfix(done=bar.n, failed=problems, remaining=bar.total - bar.n)
            top_up()
    except BaseException:
        pool.abandon()
        raise
    finally:
        bar.close()
    pool.close()
