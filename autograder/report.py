"""The class report: how a class did on an assignment, from a grading run's own files.

``python -m autograder report OUT`` (and ``grade``, when it finishes) reads ``OUT/grades.csv``,
the authority on who is in the class and on each score and status, and ``OUT/results/*.json``
for per-cell scores and timings. It writes ``OUT/report.html``, one page that loads nothing
(plots are inline SVG, no script) and ``OUT/report.csv``, the same numbers one per row.
The diagnosed mistakes (``autograder.mistakes``) are counted from the cells' stored diagnoses:
rows ``mistake`` (grade_id, ``kind:name``, students) and ``answer_group`` (grade_id,
``answers:<fingerprint>``, students), each with ``*_member`` rows naming the students.

Every string from a submission (ids, messages) is escaped on the page and neutralised for
spreadsheets in the CSV, with the helpers the feedback pages and ``grades.csv`` use.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from dataclasses import dataclass
from html import escape
from pathlib import Path

from autograder.feedback import NO_SCRIPT
from autograder.mistakes import FINGERPRINT_DECIMALS
from autograder.results import STATUSES, StudentResult, write_atomic
from autograder.untrusted import spreadsheet_cell

# Statuses whose notebooks ran, so that their cells' scores say something about the cells. A
# missing, invalid or refused notebook scores 0 everywhere and would only dilute them.
JUDGED = ("graded", "partial_timeout", "timeout", "crashed")
# PrairieLearn's rule of thumb: a question whose score hardly follows the rest of the
# assessment (correlation below 0.1) deserves a look.
LOW_DISCRIMINATION = 0.1
MAX_BINS = 20
SLOWEST = 10
ANSWER_GROUPS = 10  # the largest groups of students sharing unexplained wrong answers
CSV_COLUMNS = ("section", "student_id", "grade_id", "measure", "value")


# --- Reading a grading run ----------------------------------------------------------------


def read_class(out: Path) -> list[StudentResult]:
    """One result per row of ``grades.csv``; with per-cell details where a result file exists."""
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    details = _results_by_csv_id(out)
    return [_student(row, details.get(row["student_id"])) for row in rows]


def _results_by_csv_id(out: Path) -> dict[str, StudentResult]:
    """Result files keyed by the id as ``grades.csv`` spells it (``'@alice`` for ``@alice``)."""
    found = {}
    for path in sorted((out / "results").glob("*.json")):
        try:
            result = StudentResult.from_json(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: the student still has their row from grades.csv
        found[spreadsheet_cell(result.student_id)] = result
    return found


def _student(row: dict, result: StudentResult | None) -> StudentResult:
    """The row's student, with their result file's cells when that file is the one the row was
    written from (one left by an earlier run, e.g. before a regrade failed, is not)."""
    if result is not None and _same(row, result):
        return result
    return StudentResult(
        row["student_id"],
        row["assignment"],
        float(row["score"]),
        float(row["max_score"]),
        row["status"],
        row["message"],
    )


def _same(row: dict, result: StudentResult) -> bool:
    written = result.csv_row()
    return all(row[key] == written[key] for key in ("assignment", "score", "status"))


# --- The numbers --------------------------------------------------------------------------


@dataclass
class CellStats:
    grade_id: str
    points: float
    students: int
    pass_rate: float
    mean_points: float
    discrimination: float | None  # None when either score never varies
    mean_seconds: float | None
    max_seconds: float | None

    @property
    def flag(self) -> str:
        if self.discrimination is None:
            return "discrimination undefined: every student scored the same"
        if self.discrimination < LOW_DISCRIMINATION:
            return f"low discrimination (below {LOW_DISCRIMINATION:g})"
        return ""


def judged(students: list[StudentResult]) -> list[StudentResult]:
    return [s for s in students if s.status in JUDGED and s.notebooks]


def cells_of(student: StudentResult) -> dict[str, dict]:
    return {c["grade_id"]: c for nb in student.notebooks for c in nb["cells"]}


def correlation(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None where it is undefined (fewer than two students, or no variance)."""
    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def _mean_or_none(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def cell_stats(students: list[StudentResult]) -> list[CellStats]:
    """Per grade_id, over the judged students: discrimination is the correlation of the cell's
    score with the rest of the student's total (PrairieLearn's definition), so a cell never
    correlates with itself."""
    cells = [cells_of(s) for s in judged(students)]
    grade_ids = list(dict.fromkeys(g for student in cells for g in student))
    stats = []
    for grade_id in grade_ids:
        points = max(student[grade_id]["points"] for student in cells if grade_id in student)
        scores = [student.get(grade_id, {}).get("score", 0.0) for student in cells]
        totals = [sum(c["score"] for c in student.values()) for student in cells]
        seconds = [
            student[grade_id]["seconds"]
            for student in cells
            if student.get(grade_id, {}).get("seconds") is not None
        ]
        stats.append(
            CellStats(
                grade_id,
                points,
                len(scores),
                sum(score >= points for score in scores) / len(scores),
                statistics.fmean(scores),
                correlation(scores, [t - s for t, s in zip(totals, scores, strict=True)]),
                _mean_or_none(seconds),
                max(seconds, default=None),
            )
        )
    return stats


def histogram(scores: list[float], max_score: float) -> list[tuple[float, float, int]]:
    """(low, high, students) per bin of [0, max_score]; the last bin includes max_score."""
    bins = max(1, min(MAX_BINS, math.ceil(max_score)))
    width = max_score / bins if max_score > 0 else 1.0
    counts = [0] * bins
    for score in scores:
        counts[min(bins - 1, max(0, math.floor(score / width)))] += 1
    return [(i * width, (i + 1) * width, n) for i, n in enumerate(counts)]


def by_status(students: list[StudentResult]) -> dict[str, list[StudentResult]]:
    groups = {status: [] for status in STATUSES}
    for student in students:
        groups.setdefault(student.status, []).append(student)
    return groups


def slowest_submissions(students: list[StudentResult]) -> list[StudentResult]:
    """Of the submissions whose notebooks ran (a refused one takes no time worth listing)."""
    timed = [s for s in judged(students) if s.seconds is not None]
    return sorted(timed, key=lambda s: -s.seconds)[:SLOWEST]


def slowest_cells(students: list[StudentResult]) -> list[tuple[str, str, float]]:
    """(student_id, grade_id, seconds the judge spent on the cell), slowest first."""
    timed = [
        (s.student_id, grade_id, cell["seconds"])
        for s in judged(students)
        for grade_id, cell in cells_of(s).items()
        if cell.get("seconds") is not None
    ]
    return sorted(timed, key=lambda t: -t[2])[:SLOWEST]


@dataclass
class Diagnosed:
    """Students whose failed cell was diagnosed the same way: one known mistake (or length
    formula) of a grade_id, or one fingerprint of wrong answers nothing known explains."""

    grade_id: str
    kind: str  # "mistake", "length" or "answers"
    name: str  # the mistake's or formula's name, or the answers' fingerprint
    text: str  # the sentence students got ("" for a fingerprint)
    students: list[str]


def _diagnoses(students: list[StudentResult]):
    """(grade_id, kind, name, text, student_id) for every diagnosis of a judged student's cell."""
    for student in judged(students):
        for grade_id, cell in cells_of(student).items():
            diagnosis = cell.get("diagnosis") or {}
            for hint in diagnosis.get("hints", []):
                kind, name = str(hint.get("kind", "")), str(hint.get("name", ""))
                yield grade_id, kind, name, str(hint.get("text", "")), student.student_id
            if diagnosis.get("fingerprint"):
                fingerprint = str(diagnosis["fingerprint"])
                yield grade_id, "answers", fingerprint, "", student.student_id


def diagnosed(students: list[StudentResult]) -> tuple[list[Diagnosed], list[Diagnosed]]:
    """The named diagnoses (mistakes, then length formulas) with their students, most common
    first; and the groups of students sharing unexplained wrong answers, largest first (only
    groups of two or more: one student's own answers are no pattern)."""
    groups: dict[tuple[str, str, str], Diagnosed] = {}
    for grade_id, kind, name, text, student_id in _diagnoses(students):
        group = groups.setdefault(
            (grade_id, kind, name), Diagnosed(grade_id, kind, name, text, [])
        )
        group.students.append(student_id)
    ranked = sorted(groups.values(), key=lambda g: (-len(g.students), g.grade_id, g.kind, g.name))
    named = [g for g in ranked if g.kind != "answers"]
    shared = [g for g in ranked if g.kind == "answers" and len(g.students) > 1][:ANSWER_GROUPS]
    return named, shared


@dataclass
class ClassReport:
    assignment: str
    students: list[StudentResult]
    max_score: float
    mean: float | None
    median: float | None
    bins: list[tuple[float, float, int]]
    statuses: dict[str, list[StudentResult]]
    cells: list[CellStats]
    slowest_submissions: list[StudentResult]
    slowest_cells: list[tuple[str, str, float]]
    mistakes: list[Diagnosed]
    answer_groups: list[Diagnosed]


def class_report(students: list[StudentResult]) -> ClassReport:
    scores = [s.score for s in students]
    max_score = max((s.max_score for s in students), default=0.0)
    mistakes, answer_groups = diagnosed(students)
    return ClassReport(
        assignment=students[0].assignment if students else "",
        students=students,
        max_score=max_score,
        mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None,
        bins=histogram(scores, max_score),
        statuses=by_status(students),
        cells=cell_stats(students),
        slowest_submissions=slowest_submissions(students),
        slowest_cells=slowest_cells(students),
        mistakes=mistakes,
        answer_groups=answer_groups,
    )


# --- report.csv ---------------------------------------------------------------------------


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.10g}"


def bin_label(low: float, high: float, last: bool) -> str:
    return f"[{low:g}, {high:g}]" if last else f"[{low:g}, {high:g})"


def csv_rows(report: ClassReport) -> list[tuple]:
    rows = [
        ("class", "", "", "students", len(report.students)),
        ("class", "", "", "judged_students", len(judged(report.students))),
        ("class", "", "", "max_score", number(report.max_score)),
        ("class", "", "", "mean", number(report.mean)),
        ("class", "", "", "median", number(report.median)),
    ]
    for i, (low, high, count) in enumerate(report.bins):
        rows.append(("histogram", "", "", bin_label(low, high, i == len(report.bins) - 1), count))
    for status, members in report.statuses.items():
        rows.append(("status", "", "", status, len(members)))
        rows += [("status_member", s.student_id, "", status, "") for s in members]
    for cell in report.cells:
        for measure in ("points", "students", "pass_rate", "mean_points", "discrimination"):
            value = getattr(cell, measure)
            rows.append(("cell", "", cell.grade_id, measure, number(value)))
        rows.append(("cell", "", cell.grade_id, "flag", cell.flag))
        rows.append(("cell", "", cell.grade_id, "mean_seconds", number(cell.mean_seconds)))
        rows.append(("cell", "", cell.grade_id, "max_seconds", number(cell.max_seconds)))
    for section, groups in (("mistake", report.mistakes), ("answer_group", report.answer_groups)):
        for group in groups:
            measure = f"{group.kind}:{group.name}"
            rows.append((section, "", group.grade_id, measure, len(group.students)))
            rows += [(f"{section}_member", s, group.grade_id, measure, "") for s in group.students]
    for s in report.slowest_submissions:
        rows.append(("slowest_submission", s.student_id, "", "seconds", number(s.seconds)))
    for student_id, grade_id, seconds in report.slowest_cells:
        rows.append(("slowest_cell", student_id, grade_id, "seconds", number(seconds)))
    return rows


def report_csv(report: ClassReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for section, student_id, grade_id, measure, value in csv_rows(report):
        # Ids come from submissions: neutralised like grades.csv's. Values stay numbers (a
        # negative correlation must not become text).
        writer.writerow(
            [section, spreadsheet_cell(student_id), spreadsheet_cell(grade_id), measure, value]
        )
    return buffer.getvalue()


# --- report.html --------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.flag { color: #a4161a; }
svg text { font: 12px system-ui, sans-serif; }
"""
SVG_WIDTH, SVG_HEIGHT, SVG_MARGIN = 640, 240, 32


def histogram_svg(bins: list[tuple[float, float, int]]) -> str:
    """Bars, with each bin's count above it and its lower edge below; a <title> per bar."""
    tallest = max((n for _, _, n in bins), default=0) or 1
    plot_height = SVG_HEIGHT - 2 * SVG_MARGIN
    bar_width = (SVG_WIDTH - 2 * SVG_MARGIN) / max(1, len(bins))
    base = SVG_HEIGHT - SVG_MARGIN
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{SVG_WIDTH}' height='{SVG_HEIGHT}' "
        f"role='img' aria-label='score histogram'>",
        f"<line x1='{SVG_MARGIN}' y1='{base}' x2='{SVG_WIDTH - SVG_MARGIN}' y2='{base}' "
        "stroke='#333'/>",
    ]
    for i, (low, high, count) in enumerate(bins):
        height = plot_height * count / tallest
        x = SVG_MARGIN + i * bar_width
        label = bin_label(low, high, i == len(bins) - 1)
        parts.append(
            f"<rect class='bar' x='{x + 1:.1f}' y='{base - height:.1f}' "
            f"width='{bar_width - 2:.1f}' height='{height:.1f}' fill='#4a7ab5'>"
            f"<title>{escape(label)}: {count}</title></rect>"
            f"<text x='{x + bar_width / 2:.1f}' y='{base - height - 4:.1f}' "
            f"text-anchor='middle'>{count}</text>"
            f"<text x='{x:.1f}' y='{base + 16}' text-anchor='middle'>{low:g}</text>"
        )
    parts.append(
        f"<text x='{SVG_WIDTH - SVG_MARGIN:.1f}' y='{base + 16}' "
        f"text-anchor='middle'>{bins[-1][1]:g}</text></svg>"
        if bins
        else "</svg>"
    )
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    """``rows`` are already HTML (each value escaped by the caller)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _num(value: float | None, digits: int = 3) -> str:
    return f"<td class='num'>{'—' if value is None else f'{value:.{digits}f}'}</td>"


def _text(value: object) -> str:
    return f"<td>{escape(str(value))}</td>"


def summary_section(report: ClassReport) -> str:
    mean, median = (
        ("—", "—") if report.mean is None else (f"{report.mean:.2f}", f"{report.median:g}")
    )
    return (
        f"<p id='summary'>{len(report.students)} students &middot; "
        f"mean <strong>{mean}</strong> &middot; median <strong>{median}</strong> "
        f"out of {report.max_score:g}</p>"
        "<h2>Scores</h2>" + histogram_svg(report.bins)
    )


def status_section(report: ClassReport) -> str:
    rows = []
    for status, members in report.statuses.items():
        listed = "".join(
            f"<li><code>{escape(s.student_id)}</code>: {escape(s.message)}</li>" for s in members
        )
        students = f"<details><summary>show</summary><ul>{listed}</ul></details>" if members else ""
        rows.append([_text(status), f"<td class='num'>{len(members)}</td>", f"<td>{students}</td>"])
    return "<h2>Status</h2>" + _table(["status", "students", "who"], rows, "statuses")


def cells_section(report: ClassReport) -> str:
    rows = [
        [
            f"<td><code>{escape(c.grade_id)}</code></td>",
            _num(c.points, 1),
            _num(c.pass_rate),
            _num(c.mean_points),
            _num(c.discrimination),
            f"<td class='flag'>{escape(c.flag)}</td>",
            _num(c.mean_seconds),
        ]
        for c in report.cells
    ]
    headers = [
        "grade_id",
        "points",
        "pass rate",
        "mean points",
        "discrimination",
        "flag",
        "mean seconds",
    ]
    judged_count = len(judged(report.students))
    return (
        "<h2>Graded cells</h2>"
        f"<p>Over the {judged_count} students whose notebooks ran. Discrimination is the "
        "correlation of the cell's score with the rest of the student's total.</p>"
        + _table(headers, rows, "cells")
    )


def _who(students: list[str]) -> str:
    listed = "".join(f"<li><code>{escape(s)}</code></li>" for s in students)
    return f"<td><details><summary>show</summary><ul>{listed}</ul></details></td>"


def mistakes_section(report: ClassReport) -> str:
    """What the grader recognised in the failed cells, and what it did not but many shared."""
    named = [
        [
            f"<td><code>{escape(g.grade_id)}</code></td>",
            f"<td><code>{escape(g.name)}</code></td>",
            f"<td class='num'>{len(g.students)}</td>",
            _text(g.text),
            _who(g.students),
        ]
        for g in report.mistakes
    ]
    groups = [
        [
            f"<td><code>{escape(g.grade_id)}</code></td>",
            f"<td><code>{escape(g.name)}</code></td>",
            f"<td class='num'>{len(g.students)}</td>",
            _who(g.students),
        ]
        for g in report.answer_groups
    ]
    return (
        "<h2 id='mistakes'>Diagnosed mistakes</h2>"
        "<p>When a cell fails, the grader compares the student's wrong answers with the known "
        "mistakes of that cell (and a wrong length with the known length formulas); the "
        "sentence is what the student's feedback says.</p>"
        + (
            _table(["grade_id", "mistake", "students", "feedback", "who"], named, "diagnosed")
            if named
            else "<p id='diagnosed'>No failed cell matched a known mistake.</p>"
        )
        + "<h2>Shared wrong answers nothing known explains</h2>"
        f"<p>Students whose wrong answers to a cell agree on every failed case (rounded to "
        f"{FINGERPRINT_DECIMALS} decimals), the {ANSWER_GROUPS} largest groups: a mistake "
        "many students make that the table of known mistakes lacks.</p>"
        + (
            _table(["grade_id", "fingerprint", "students", "who"], groups, "answer-groups")
            if groups
            else "<p id='answer-groups'>No two students share unexplained wrong answers.</p>"
        )
    )


def slowest_section(report: ClassReport) -> str:
    submissions = [
        [f"<td><code>{escape(s.student_id)}</code></td>", _text(s.status), _num(s.seconds, 2)]
        for s in report.slowest_submissions
    ]
    cells = [
        [
            f"<td><code>{escape(sid)}</code></td>",
            f"<td><code>{escape(gid)}</code></td>",
            _num(seconds, 3),
        ]
        for sid, gid, seconds in report.slowest_cells
    ]
    return (
        "<h2>Slowest submissions</h2>"
        + _table(["student", "status", "seconds"], submissions, "slowest-submissions")
        + "<h2>Slowest graded cells</h2><p>Seconds the judge spent calling the student's "
        "functions for the cell.</p>"
        + _table(["student", "grade_id", "seconds"], cells, "slowest-cells")
    )


def report_html(report: ClassReport) -> str:
    title = f"Class report: {report.assignment}"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{NO_SCRIPT}"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        + summary_section(report)
        + status_section(report)
        + cells_section(report)
        + mistakes_section(report)
        + slowest_section(report)
        + "</body></html>\n"
    )


def write_report(out: Path) -> ClassReport:
    """Write ``OUT/report.html`` and ``OUT/report.csv`` from ``OUT``'s grades and results."""
    report = class_report(read_class(out))
    write_atomic(out / "report.csv", report_csv(report))
    write_atomic(out / "report.html", report_html(report))
    return report
