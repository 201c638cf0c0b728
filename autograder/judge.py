"""Grade one student notebook: run the student's cells in a sandbox, then judge each graded
cell by calling the student's functions on the judge's inputs and checking the arrays.

The verdict is computed here, in the trusted process; the sandbox only ever returns plain
arrays. When a cell hangs or kills its process, the sandbox is restarted without that cell
(like a fresh kernel) so one broken cell costs only the points that depend on it.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

from autograder import protocol
from autograder.assignment import SourceNotebook
from autograder.cases import Case, verdict
from autograder.mistakes import MAX_DIAGNOSED_CASES, diagnose
from autograder.sandbox import (
    Layout,
    Limits,
    Sandbox,
    SandboxGone,
    SandboxTimeout,
    SandboxUnavailable,
)
from autograder.submissions import cell_grade_id

STARTUP_SECONDS = 30.0
MAX_LISTED_INCIDENTS = 5
# Cell errors are listed in the results and the feedback page: thousands of raising cells must
# not make either megabytes long.
MAX_LISTED_CELL_ERRORS = 20
FIRST_WORDS = re.compile(r"\S[^\n]{0,40}")  # a cell's label: its first 40 characters or so


@dataclass
class CellResult:
    grade_id: str
    points: float
    score: float
    message: str
    seconds: float | None = None  # the judge's time for the cell: calls and comparisons
    diagnosis: dict | None = None  # autograder.mistakes.diagnose of its wrong answers


@dataclass
class NotebookResult:
    notebook: str
    status: str
    message: str
    score: float
    max_score: float
    cells: list[CellResult] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)  # student cells that raised
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def cells_to_run(nb, source: SourceNotebook) -> list[dict]:
    """The student's code cells in order, as written. Graded test cells are the judge's
    business and are left out whatever the student did to them; read-only setup cells come
    from the source. IPython syntax is transformed by the runner, in the sandbox: the judge
    does no work on a cell's text whose cost grows with it beyond a linear scan."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell_grade_id(cell)
        if grade_id in source.tests:
            continue
        if grade_id in source.locked:
            cells.append({"index": index, "source": source.locked[grade_id], "statementwise": True})
        else:
            cells.append({"index": index, "source": cell.source})
    return cells


class Restart(Exception):
    """The sandbox must be restarted; ``skip`` is a student cell to leave out next time."""

    def __init__(self, incident: str, kind: str, skip: int | None = None):
        super().__init__(incident)
        self.incident, self.kind, self.skip = incident, kind, skip


class OutOfTime(Exception):
    """The whole submission used up its wall-clock budget."""


@dataclass
class Run:
    """State of grading one notebook across sandbox restarts."""

    cells: list[dict]
    pending: list[str]
    deadline: float
    limits: Limits
    skip: set[int] = field(default_factory=set)
    results: dict[str, CellResult] = field(default_factory=dict)
    incidents: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    cell_errors: dict[int, str] = field(default_factory=dict)
    ignored_magics: list[str] = field(default_factory=list)

    def cell_deadline(self) -> float:
        return min(time.monotonic() + self.limits.cell_seconds, self.deadline)

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline


def _cell_label(cell: dict) -> str:
    """'code cell 7 ("while True:")': a position plus the first line, so a student finds it.
    Reads no further than the first 41 characters of that line, however long the cell."""
    match = FIRST_WORDS.search(cell["source"])
    first = match.group().strip() if match else ""
    first = first if len(first) <= 40 else first[:37] + "..."
    return (
        f"code cell {cell['index'] + 1} ({first!r})" if first else f"code cell {cell['index'] + 1}"
    )


def _run_student_cells(box: Sandbox, run: Run) -> None:
    cells = [c for c in run.cells if c["index"] not in run.skip]
    box.send({"op": "run_cells", "cells": cells}, deadline=run.cell_deadline())
    for cell in cells:
        label = _cell_label(cell)
        try:
            box.receive(run.cell_deadline())  # cell_start
            done, _ = box.receive(run.cell_deadline())
        except SandboxTimeout:
            if run.expired():
                raise OutOfTime from None
            raise Restart(
                f"{label} timed out after {run.limits.cell_seconds:g} s and was skipped",
                "timeout",
                cell["index"],
            ) from None
        except SandboxGone as gone:
            raise Restart(
                f"{label} ended the process ({gone.reason}) and was skipped", "crash", cell["index"]
            ) from None
        # Read-only instructor cells fail by design on `import torch`: not the student's error.
        if done.get("error") and not cell.get("statementwise"):
            run.cell_errors[cell["index"]] = f"{label}: {str(done['error'])[:600]}"
        else:
            run.cell_errors.pop(cell["index"], None)
    finished, _ = box.receive(run.cell_deadline())
    magics = finished.get("ignored_magics")
    magics = magics if isinstance(magics, list) else []  # the runner is the student's to alter
    run.ignored_magics = [str(m)[:200] for m in magics if isinstance(m, str)][:20]


def _call_failure(case: Case, header: dict) -> str:
    if header.get("missing"):
        return f"{case.function} is not defined (renamed or missing?)"
    if "returned" in header:
        returned = str(header["returned"])[:100]
        return f"{case.function} returned a {returned}, not numeric array data ({case.label})"
    return f"{case.function} raised {str(header.get('error'))[:600]} ({case.label})"


def _call(box: Sandbox, case: Case, deadline: float) -> tuple[str | None, object]:
    """Call the student's function on ``case``: (what is wrong, or None; the answer array)."""
    arrays: list = []
    request = {
        "op": "call",
        "function": case.function,
        "args": protocol.pack_value(list(case.args), arrays),
        "kwargs": protocol.pack_value(dict(case.kwargs), arrays),
    }
    box.send(request, arrays, deadline=deadline)
    header, answer = box.receive(deadline)
    if header.get("event") != "result":
        return "the grader received an unexpected message", None
    if not header.get("ok"):
        return _call_failure(case, header), None
    if len(answer) != 1:
        return "the grader received an unexpected message", None
    return verdict(case, answer[0]), answer[0]


def _judge_cell(
    box: Sandbox, run: Run, grade_id: str, points: float, cases: list[Case]
) -> CellResult:
    """All or nothing over ``cases``. After the first failure the remaining cases still run
    (up to MAX_DIAGNOSED_CASES failed ones), so the diagnosis sees every wrong answer; the
    result is stored at the first failure, so a later case that hangs cannot erase it."""
    deadline = run.cell_deadline()
    failure, wrong = None, []
    try:
        for case in cases:
            problem, answer = _call(box, case, deadline)
            if problem is None:
                continue
            if failure is None:
                failure = run.results[grade_id] = CellResult(grade_id, points, 0.0, problem)
            if answer is None:  # raised, or no array: nothing to compare with a mistake
                break
            wrong.append((case, answer))
            if len(wrong) >= MAX_DIAGNOSED_CASES:
                break
    finally:  # also when a later case hangs or ends the process
        if failure is not None:
            failure.diagnosis = diagnose(wrong)
    return failure or CellResult(grade_id, points, points, f"passed ({len(cases)} cases)")


def _since(started: float) -> float:
    return round(time.monotonic() - started, 4)


def _keep_failure(run: Run, grade_id: str, points: float, message: str, started: float) -> None:
    """The cell scores 0 with ``message``, unless a case had already failed: that failure (and
    its diagnosis) is what the student needs to read; the incident is reported either way."""
    result = run.results.setdefault(grade_id, CellResult(grade_id, points, 0.0, message))
    result.seconds = _since(started)
    run.pending.pop(0)


def _judge_pending(
    box: Sandbox, run: Run, source: SourceNotebook, cases: dict[str, list[Case]]
) -> None:
    while run.pending:
        grade_id = run.pending[0]
        points = source.tests[grade_id]
        started = time.monotonic()
        try:
            result = _judge_cell(box, run, grade_id, points, cases[grade_id])
        except SandboxTimeout:
            if run.expired():
                raise OutOfTime from None
            message = f"cell {grade_id} timed out after {run.limits.cell_seconds:g} s"
            _keep_failure(run, grade_id, points, message, started)
            raise Restart(message, "timeout") from None
        except SandboxGone as gone:
            message = f"the process died while checking {grade_id} ({gone.reason})"
            _keep_failure(run, grade_id, points, message, started)
            raise Restart(message, "crash") from None
        result.seconds = _since(started)
        run.results[grade_id] = result
        run.pending.pop(0)


def _started_sandbox(layout, slot, run) -> Sandbox:
    """A sandbox that said it is ready, before any student code ran in it. One that cannot be
    started is this machine's fault, never the student's: SandboxUnavailable."""
    try:
        box = Sandbox(layout, slot, run.limits)
    except OSError as exc:  # bwrap, prlimit or the cgroup helper cannot be run
        raise SandboxUnavailable(f"the sandbox did not start ({exc})") from None
    try:
        ready, _ = box.receive(min(time.monotonic() + STARTUP_SECONDS, run.deadline))
        if ready.get("event") != "ready":
            raise SandboxGone("its first message was not 'ready'")
    except BaseException as exc:  # a stop signal too: no sandbox is left behind
        box.kill()
        if isinstance(exc, SandboxTimeout):
            if run.expired():
                raise OutOfTime from None
            raise SandboxUnavailable("the sandbox did not start") from None
        if isinstance(exc, SandboxGone):
            raise SandboxUnavailable(f"the sandbox did not start ({exc.reason})") from None
        raise
    return box


def _one_sandbox_pass(layout, slot, run, source, cases) -> None:
    with _started_sandbox(layout, slot, run) as box:
        try:
            _run_student_cells(box, run)
            _judge_pending(box, run, source, cases)
        except SandboxTimeout:
            if run.expired():
                raise OutOfTime from None
            raise Restart("the process stopped answering the grader", "timeout") from None
        except SandboxGone as gone:
            raise Restart(f"the process ended unexpectedly ({gone.reason})", "crash") from None


def _summarised(items: list[str], limit: int, what: str) -> list[str]:
    """The first few items and a count: a notebook of thousands of crashing cells must not put
    hundreds of KB into one grades.csv cell, nor its raising cells into the feedback page."""
    if len(items) <= limit:
        return items
    return [*items[:limit], f"and {len(items) - limit} more {what}"]


def _status(run: Run, out_of_time: bool) -> str:
    kinds = {kind for kind, _ in run.incidents}
    if out_of_time:
        return "timeout"
    if "crash" in kinds:
        return "crashed"
    if "timeout" in kinds:
        return "partial_timeout"
    return "graded"


def grade_notebook(
    nb, source: SourceNotebook, cases, layout: Layout, limits: Limits, slot: int, deadline: float
) -> NotebookResult:
    run = Run(cells_to_run(nb, source), list(source.tests), deadline, limits)
    out_of_time = False
    # Each restart removes a cell or a graded cell, so this loop ends; the cap is a backstop.
    for _ in range(len(run.cells) + len(source.tests) + 2):
        try:
            _one_sandbox_pass(layout, slot, run, source, cases)
            break
        except Restart as restart:
            run.incidents.append((restart.kind, restart.incident))
            if restart.skip is not None:
                run.skip.add(restart.skip)
                run.cell_errors.pop(restart.skip, None)
        except OutOfTime:
            out_of_time = True
            break
    for grade_id in run.pending:
        run.results[grade_id] = CellResult(
            grade_id,
            source.tests[grade_id],
            0.0,
            f"not checked: the submission's time limit of {limits.submission_seconds:g} s ran out",
        )
    cells = [run.results[g] for g in source.tests]
    score = sum(c.score for c in cells)
    messages = _summarised([m for _, m in run.incidents], MAX_LISTED_INCIDENTS, "incidents")
    cell_errors = [run.cell_errors[i] for i in sorted(run.cell_errors)]
    if out_of_time:
        messages.append(f"time limit of {limits.submission_seconds:g} s for the submission ran out")
    notes = [f"ignored IPython magic or shell command: {m}" for m in run.ignored_magics]
    return NotebookResult(
        source.name,
        _status(run, out_of_time),
        "; ".join(messages),
        score,
        source.max_score,
        cells,
        _summarised(cell_errors, MAX_LISTED_CELL_ERRORS, "cells raised errors"),
        notes,
    )
