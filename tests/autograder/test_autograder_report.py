"""The class report of a real small batch (correct, buggy, crashing, missing and refused
submissions, hostile ids and messages): every number in report.csv and report.html is
recomputed here from grades.csv and the result files alone, with numpy; hostile strings appear
escaped; the page renders in Chromium from a file without a single request leaving it."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from grading_helpers import grade, grader_env, source_notebook, write_student

from testkit.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow

BUGS = ("kernel_flipped", "stride_ignored", "matrix_transposed")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JUDGED = ("graded", "partial_timeout", "timeout", "crashed")  # notebooks that ran


def _crashing(source: Path) -> nbformat.NotebookNode:
    """Correct answers, then a cell (its first line a script tag) that ends its process."""
    nb = make_submission(source, None)
    nb.cells.insert(2, nbformat.v4.new_code_cell(f'"{SCRIPT}"\nimport os\nos._exit(3)'))
    return nb


@pytest.fixture(scope="module")
def batch(course, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("report")
    submissions, out = work / "submissions", work / "out"
    source = source_notebook(course)
    for student_id in ("correct", "+1+1", "=1+1", IMG):
        write_student(submissions, student_id, make_submission(source, None))
    for bug in BUGS:
        write_student(submissions, bug, make_submission(source, bug))
    write_student(submissions, "crashes", _crashing(source))
    (submissions / "no_notebook").mkdir()
    (submissions / "no_notebook" / "notes.txt").write_text("forgot it")
    done = grade(course, submissions, out, "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def report_values(out: Path) -> dict[tuple[str, str, str, str], str]:
    rows = read_csv(out / "report.csv")
    return {(r["section"], r["student_id"], r["grade_id"], r["measure"]): r["value"] for r in rows}


def results(out: Path) -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((out / "results").glob("*.json"))]


def test_grade_writes_the_report_and_report_rewrites_it_the_same(batch):
    first = (batch / "report.csv").read_text("utf-8")
    assert (batch / "report.html").is_file()
    again = subprocess.run(
        [sys.executable, "-m", "autograder", "report", str(batch)],
        env=grader_env(),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert (batch / "report.csv").read_text("utf-8") == first


def test_class_numbers_match_grades_csv(batch):
    grades = read_csv(batch / "grades.csv")
    scores = np.array([float(r["score"]) for r in grades])
    max_score = float(grades[0]["max_score"])
    values = report_values(batch)
    assert int(values[("class", "", "", "students")]) == len(grades) == 9
    assert float(values[("class", "", "", "mean")]) == pytest.approx(scores.mean(), rel=1e-9)
    assert float(values[("class", "", "", "median")]) == pytest.approx(np.median(scores))
    bins = [v for k, v in values.items() if k[0] == "histogram"]
    counts, _ = np.histogram(scores, bins=len(bins), range=(0, max_score))
    assert [int(v) for v in bins] == counts.tolist()
    page = (batch / "report.html").read_text("utf-8")
    assert f"mean <strong>{scores.mean():.2f}</strong>" in page
    assert f"median <strong>{np.median(scores):g}</strong>" in page


def test_status_breakdown_lists_each_student(batch):
    grades = read_csv(batch / "grades.csv")
    rows = read_csv(batch / "report.csv")
    for status in {r["status"] for r in grades} | {"graded", "error"}:
        expected = sorted(r["student_id"] for r in grades if r["status"] == status)
        members = sorted(
            r["student_id"]
            for r in rows
            if r["section"] == "status_member" and r["measure"] == status
        )
        assert members == expected, status
        assert report_values(batch)[("status", "", "", status)] == str(len(expected))
    statuses = {r["student_id"]: r["status"] for r in grades}
    assert statuses["crashes"] == "crashed" and statuses["no_notebook"] == "missing_notebook"
    assert statuses["'=1+1"] == "error" and statuses["'+1+1"] == "graded"
    scores = {r["student_id"]: float(r["score"]) for r in grades}
    assert [scores[bug] for bug in BUGS] == [EXPECTED_SCORES[bug] for bug in BUGS]


def test_cell_statistics_match_results_and_numpy(batch):
    judged = [r for r in results(batch) if r["status"] in JUDGED]
    assert len(judged) == 6  # correct, +1+1, three bugs, the crash
    cells = [{c["grade_id"]: c for nb in r["notebooks"] for c in nb["cells"]} for r in judged]
    values = report_values(batch)
    page = (batch / "report.html").read_text("utf-8")
    defined = 0
    for grade_id in cells[0]:
        points = cells[0][grade_id]["points"]
        score = np.array([c[grade_id]["score"] for c in cells])
        rest = np.array([r["score"] for r in judged]) - score

        def value(measure, grade_id=grade_id):
            return values[("cell", "", grade_id, measure)]

        assert float(value("points")) == points
        assert float(value("pass_rate")) == pytest.approx(np.mean(score >= points))
        assert float(value("mean_points")) == pytest.approx(score.mean())
        if score.std() == 0 or rest.std() == 0:
            assert value("discrimination") == ""
            assert "undefined" in value("flag")
            continue
        defined += 1
        r = np.corrcoef(score, rest)[0, 1]
        assert float(value("discrimination")) == pytest.approx(r, abs=1e-9)
        assert ("low" in value("flag")) == (r < 0.1)
        row = page.split(f"<code>{grade_id}</code>", 1)[1].split("</tr>", 1)[0]
        assert f"{np.mean(score >= points):.3f}" in row and f"{r:.3f}" in row
    assert defined >= 2, "the bugs should make some cells' scores vary"


def test_slowest_submissions_and_cells_come_from_the_results(batch):
    judged = [r for r in results(batch) if r["status"] in JUDGED]
    rows = read_csv(batch / "report.csv")
    slowest = [r for r in rows if r["section"] == "slowest_submission"]
    by_time = sorted(judged, key=lambda r: -r["seconds"])
    assert [float(r["value"]) for r in slowest] == pytest.approx([r["seconds"] for r in by_time])
    assert all(r["seconds"] > 0 for r in by_time)
    cells = [c for r in judged for nb in r["notebooks"] for c in nb["cells"]]
    cell_times = sorted((c["seconds"] for c in cells), reverse=True)
    listed = [float(r["value"]) for r in rows if r["section"] == "slowest_cell"]
    assert listed == pytest.approx(cell_times[:10]) and len(listed) == 10


def test_hostile_ids_and_messages_are_escaped(batch):
    page = (batch / "report.html").read_text("utf-8")
    for hostile in (SCRIPT, IMG):
        assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the crashing cell's first line
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the refused id
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "id='mistakes'" in page
    rows = read_csv(batch / "report.csv")
    ids = {r["student_id"] for r in rows}
    assert {"'=1+1", "'+1+1"} <= ids
    assert not [
        i for r in rows for i in (r["student_id"], r["grade_id"]) if i.startswith(tuple("=+-@"))
    ]


@pytest.mark.browser
def test_the_page_renders_in_chromium_from_a_file_loading_nothing(batch, chromium):
    context = chromium.new_context()
    left: list[str] = []

    def only_the_file(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_file)
    dialogs: list[str] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto((batch / "report.html").as_uri(), wait_until="load")
        bars = page.locator("svg rect.bar")
        histogram_rows = [k for k in report_values(batch) if k[0] == "histogram"]
        assert bars.count() == len(histogram_rows)
        assert page.locator("svg").first.bounding_box()["width"] > 100
        graded_cells = results(batch)[0]["notebooks"][0]["cells"]
        assert page.locator("#cells tbody tr").count() == len(graded_cells)
        page.locator("details summary").first.click()  # open without script: a <details>
        assert page.locator("details[open]").count() == 1
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        text = page.inner_text("body")
        assert IMG in text and SCRIPT in text  # shown as text
    finally:
        context.close()
    assert left == [] and dialogs == []


def test_report_of_a_folder_without_a_grading_run_is_a_clear_error(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "report", str(tmp_path)],
        env=grader_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "no grading run" in run.stderr, run.stderr
    assert not (tmp_path / "report.html").exists()


def test_grades_csv_decides_and_a_stale_result_file_adds_nothing(batch, tmp_path):
    """A result file left by an earlier run (the regrade that replaced its row could not be
    stored) must not lend its cells to the row grades.csv now holds."""
    from autograder.report import write_report

    out = tmp_path / "out"
    shutil.copytree(batch, out)
    grades = read_csv(out / "grades.csv")
    for row in grades:
        if row["student_id"] == "kernel_flipped":
            row.update(score="0", status="error", message="grader error: disk full")
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(grades[0]), quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(grades)
    write_report(out)
    values = report_values(out)
    assert values[("class", "", "", "judged_students")] == "5"
    assert ("status_member", "kernel_flipped", "", "error") in values
    assert not [k for k in values if k[0] == "slowest_cell" and k[1] == "kernel_flipped"]
