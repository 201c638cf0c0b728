"""``nbgrader export`` that a spreadsheet can open safely.

nbgrader's CsvExportPlugin joins fields with "," unquoted, so a student id such as
``Smith, John_1234`` (as LMS exports spell names) shifts every column after it, and an id or
name that starts with ``=``, ``+``, ``-`` or ``@`` is evaluated as a formula. This plugin writes
the same columns with the same values through the csv module, every field quoted, and text
neutralised as in the autograder's own grades.csv. ``nbgrader_config.py`` selects it
(``ExportApp.plugin_class``); nbgrader imports it from the course root, which it puts on
``sys.path``.
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from autograder.untrusted import spreadsheet_cell

COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
)


def _text(value) -> str:
    return "" if value is None else spreadsheet_cell(value)


def _number(value) -> str:
    return "" if value is None else str(value)


def export_row(gradebook: Gradebook, assignment, student) -> list[str]:
    """One student's row for one assignment; no submission scores 0, as in nbgrader."""
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        timestamp, raw, penalty = None, 0.0, 0.0
    else:
        timestamp = submission.timestamp
        raw, penalty = submission.score, submission.late_submission_penalty
    texts = [
        assignment.name,
        assignment.duedate,
        timestamp,
        student.id,
        student.last_name,
        student.first_name,
        student.email,
    ]
    numbers = [raw, penalty, max(0.0, raw - penalty), assignment.max_score]
    return [_text(v) for v in texts] + [_number(v) for v in numbers]


class SafeCsvExportPlugin(CsvExportPlugin):
    """nbgrader's CSV columns, quoted and neutralised (``--to``, ``--assignment`` and
    ``--student`` work as they do for nbgrader's own plugin)."""

    def export(self, gradebook: Gradebook) -> None:
        destination = self.to or "grades.csv"
        assignments = {str(a) for a in self.assignment}
        students = {str(s) for s in self.student}
        self.log.info("Exporting grades to %s", destination)
        with open(destination, "w", newline="", encoding="utf-8", errors="replace") as fh:
            writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerow(COLUMNS)
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(export_row(gradebook, assignment, student))
