"""Recording in a gradebook without grading: results as the grader makes them, and a count of
what a gradebook's engine sends (the PostgreSQL tests and benchmarks/gradebook_writes.py)."""

from __future__ import annotations

from sqlalchemy import event

from autograder.batch import zero_notebook
from autograder.results import StudentResult, combine


def scored_results(assignment, students: list[str], passed: int) -> list[StudentResult]:
    """Results of ``assignment`` (as the grader makes them) in which each student passed the
    first ``passed`` graded cells of each notebook: for recording without grading."""
    results = []
    for student in students:
        notebooks = []
        for source in assignment.notebooks:
            notebook = zero_notebook(source, "graded", "").to_json()
            for cell in notebook["cells"][:passed]:
                cell["score"] = cell["points"]
            notebook["score"] = sum(c["score"] for c in notebook["cells"])
            notebooks.append(notebook)
        results.append(combine(student, assignment.name, assignment.max_score, notebooks))
    return results


class Statements:
    """What a gradebook's engine sends: statements (an executemany counts once: one round
    trip with psycopg's pipeline) and commits."""

    def __init__(self, engine):
        self.statements = self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *args):
        self.statements += 1

    def _commit(self, *args):
        self.commits += 1

    def reset(self) -> None:
        self.statements = self.commits = 0
