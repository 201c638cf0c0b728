"""One student's result: combining notebooks, saving it atomically, and the grades table.

Each result is its own JSON file, written with rename-into-place, so a batch killed at any
moment leaves only complete results behind; grades.csv is rebuilt from them.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.untrusted import clean_strings, clean_text, spreadsheet_cell

STATUSES = (
    "graded",
    "partial_timeout",
    "timeout",
    "crashed",
    "invalid_notebook",
    "missing_notebook",
    "error",
)
# When a student's notebooks end differently, the row shows the most serious outcome.
SEVERITY = (
    "graded",
    "partial_timeout",
    "crashed",
    "timeout",
    "missing_notebook",
    "invalid_notebook",
    "error",
)
CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "message")


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    score: float
    max_score: float
    status: str
    message: str
    notebooks: list[dict] = field(default_factory=list)  # NotebookResult.to_json() each
    fingerprint: str = ""  # of the tests that produced it: a result from other tests is redone
    timestamp: str | None = None  # when the student submitted (nbgrader's timestamp.txt)
    seconds: float | None = None  # wall-clock time the grader spent on the submission

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> StudentResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def csv_row(self) -> dict:
        return {
            "student_id": spreadsheet_cell(self.student_id),
            "assignment": spreadsheet_cell(self.assignment),
            "score": f"{self.score:g}",
            "max_score": f"{self.max_score:g}",
            "status": self.status,
            "message": spreadsheet_cell(self.message),
        }


def combine(
    student_id: str, assignment: str, max_score: float, notebooks: list[dict]
) -> StudentResult:
    """One student's result from their notebooks' results. Every string in it (the student's
    own error texts and names among them) is cleaned and bounded here, once, so whatever is
    stored later (JSON, CSV, HTML) can be written."""
    notebooks = clean_strings(notebooks)
    status = max((nb["status"] for nb in notebooks), key=SEVERITY.index)
    many = len(notebooks) > 1
    messages = [
        f"{nb['notebook']}: {nb['message']}" if many else nb["message"]
        for nb in notebooks
        if nb["message"]
    ]
    if status == "graded" and not messages:
        failed = [
            c["grade_id"] for nb in notebooks for c in nb["cells"] if c["score"] < c["points"]
        ]
        messages = [f"failed: {', '.join(failed)}" if failed else "all tests passed"]
    score = sum(nb["score"] for nb in notebooks)
    return StudentResult(
        student_id, assignment, score, max_score, status, clean_text("; ".join(messages)), notebooks
    )


def write_atomic(path: Path, text: str) -> None:
    """Write-then-rename with fsync: a reader sees the old file or the new one, never half.
    Text is cleaned where it comes in (``autograder.untrusted``); a character that still
    cannot be encoded becomes "?" rather than ending the batch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, or a signal stopping the batch: no half file left
        tmp.unlink(missing_ok=True)
        raise


def result_path(out: Path, student_id: str) -> Path:
    return out / "results" / f"{student_id}.json"


def save_result(out: Path, result: StudentResult) -> None:
    write_atomic(
        result_path(out, result.student_id), json.dumps(result.to_json(), indent=1, sort_keys=True)
    )


def load_result(
    out: Path, student_id: str, assignment: str, fingerprint: str
) -> StudentResult | None:
    """A finished result from an earlier run, or None (missing, unreadable, other tests)."""
    try:
        result = StudentResult.from_json(
            json.loads(result_path(out, student_id).read_text("utf-8"))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = result.assignment == assignment and result.fingerprint == fingerprint
    return result if same else None


def write_grades_csv(out: Path, results: list[StudentResult]) -> None:
    buffer = io.StringIO()
    # Every field quoted: a spreadsheet that splits on ";" (or anything else) keeps each
    # message one cell, so only a cell's first character can make it a formula.
    writer = csv.DictWriter(
        buffer, fieldnames=CSV_COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL
    )
    writer.writeheader()
    for result in sorted(results, key=lambda r: r.student_id):
        writer.writerow(result.csv_row())
    write_atomic(out / "grades.csv", buffer.getvalue())
