"""The gradebook on a real PostgreSQL server (``c.CourseDirectory.db_url =
"postgresql+psycopg://..."`` in nbgrader_config.py): the grader, ``nbgrader autograde``,
``nbgrader export``, ``generate_feedback`` and formgrader all use it; a grader's open
transaction does not stop a batch there (on SQLite it does, and the test says how); and the
gradebook is written one transaction per group of students, a few statements per group."""

from __future__ import annotations

import csv
import dataclasses
import shutil
import signal
import subprocess
import time
import unicodedata
import uuid
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from autograder_corpus import SUBMISSION_SECONDS, build_kinds
from grading_helpers import (
    ASSIGNMENT,
    FORMGRADER_TOKEN,
    Listener,
    formgrader,
    get_page,
    grade,
    grade_command,
    grader_env,
    make_course,
    nbgrader,
    read_grades,
    source_notebook,
    visible_text,
    wait_until,
    write_corpus,
)
from nbgrader.api import Gradebook, MissingEntry

from autograder.assignment import load_assignment
from autograder.batch import _record_in_groups
from autograder.gradebook import open_gradebook, record
from autograder.untrusted import spreadsheet_cell
from testkit.gradebook import Statements, scored_results
from testkit.mutants import EXPECTED_SCORES, make_submission

pytestmark = pytest.mark.slow
STRIDE_CELL = "conv_transpose1d_stride2"  # a graded cell a TA reviews by hand
STOP_SECONDS = 2.0  # what the grader promises between a stop signal and its exit


@pytest.fixture(scope="module")
def pg_course(postgres, tmp_path_factory) -> tuple[Path, str]:
    """A course whose gradebook is a database of the server: its folder and its db_url."""
    url = postgres.create_database("course_gradebook")
    return make_course(tmp_path_factory.mktemp("pg_course"), url), url


def _export(course: Path, to: Path, students: set[str]) -> list[dict]:
    """``nbgrader export``'s rows for ``students``, in student order."""
    nbgrader(course, "export", "--to", str(to))
    with open(to, newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if row["student_id"] in students]
    return sorted(rows, key=lambda row: row["student_id"])


@pytest.fixture(scope="module")
def corpus_on_postgres(pg_course, tmp_path_factory):
    """The adversarial corpus graded by the real command into the PostgreSQL gradebook."""
    course, _ = pg_course
    work = tmp_path_factory.mktemp("pg_corpus")
    listener = Listener()
    kinds = build_kinds(course, work / "submissions", listener.port, work)
    archive = write_corpus(course, kinds, work / "submissions", work / "class.zip")
    env = grader_env(AUTOGRADER_SUBMISSION_TIMEOUT=str(SUBMISSION_SECONDS))  # as the corpus's
    run = grade(course, archive, work / "out", "--workers", "2", env=env)
    return {"kinds": kinds, "archive": archive, "out": work / "out", "run": run,
            "connected": listener.reached()}


def _exported_id(kind) -> str:
    """The kind's id as ``nbgrader export`` writes it: the gradebook's NFC spelling, through
    the course's safe CSV plugin (a leading ``@`` or ``=`` neutralised)."""
    return spreadsheet_cell(unicodedata.normalize("NFC", kind.student_id))


def test_the_corpus_graded_into_postgresql_exports_as_on_sqlite(
    pg_course, corpus_on_postgres, tmp_path
):
    """Every student's row of ``nbgrader export`` (scores, late penalties, times) is the same
    from the PostgreSQL gradebook as from a SQLite one holding the same results. The SQLite
    gradebook is filled by the same command, run from a SQLite course on a copy of the output
    folder: it resumes every result and records it (grading the corpus again would only repeat
    what test_autograder_corpus checks)."""
    run = corpus_on_postgres["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert not corpus_on_postgres["connected"], "a submission reached a local TCP port"
    kinds, pg_out = corpus_on_postgres["kinds"], corpus_on_postgres["out"]
    assert sorted(read_grades(pg_out)) == sorted(k.row_id for k in kinds)
    sqlite_course = make_course(tmp_path / "sqlite_course")
    sqlite_out = tmp_path / "sqlite_out"
    shutil.copytree(pg_out, sqlite_out)
    resumed = grade(sqlite_course, corpus_on_postgres["archive"], sqlite_out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (sqlite_out / "grades.csv").read_bytes() == (pg_out / "grades.csv").read_bytes()
    students = {_exported_id(k) for k in kinds}
    on_postgres = _export(pg_course[0], tmp_path / "pg.csv", students)
    assert on_postgres == _export(sqlite_course, tmp_path / "sqlite.csv", students)
    exported = {row["student_id"]: float(row["raw_score"]) for row in on_postgres}
    graded = read_grades(pg_out)  # what each kind deserves is test_autograder_corpus's to check
    stored = [k for k in kinds if k.status != "error"]
    assert len(stored) >= 15
    for kind in stored:
        score = float(graded[kind.row_id]["score"])
        assert exported[_exported_id(kind)] == score, kind.student_id


def test_nbgrader_autograde_feedback_and_formgrader_share_the_database(pg_course, tmp_path):
    """nbgrader's own commands, run from the course as an instructor runs them, read and write
    the PostgreSQL gradebook: ``autograde`` records a student the grader never saw, and
    ``generate_feedback`` and formgrader show that student's scores."""
    course, url = pg_course
    student = "by_nbgrader"
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nb = make_submission(source_notebook(course), "padding_ignored")
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    nbgrader(course, "autograde", ASSIGNMENT, "--student", student, "--force")
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", student, "--force")
    with Gradebook(url) as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        notebook_id, score = notebook.id, notebook.score
    assert score == EXPECTED_SCORES["padding_ignored"]
    page = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert "conv_transpose1d_padding" in visible_text(page.read_text("utf-8"))
    with formgrader(course) as server:
        review = get_page(f"{server}/formgrader/submissions/{notebook_id}/"
                          f"?token={FORMGRADER_TOKEN}")
    assert "conv_transpose1d_padding" in visible_text(review)


def _write_students(course: Path, folder: Path, bugs: dict[str, str | None]) -> None:
    for student, bug in bugs.items():
        (folder / student).mkdir(parents=True)
        nb = make_submission(source_notebook(course), bug)
        nbformat.write(nb, folder / student / f"{ASSIGNMENT}.ipynb")


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_graders_open_transaction_during_a_batch(backend, pg_course, course, tmp_path):
    """A TA changes a grade of a student graded earlier and has not committed yet (a review in
    progress) while the late submissions are graded. On PostgreSQL the batch finishes with
    every score recorded and the TA's change is kept. On SQLite (one writer at a time) every new
    student's scores fail with "database is locked" after SQLite's 5 s: they get error rows, no
    result is kept, and the same command run after the TA has committed grades them."""
    root, url = pg_course if backend == "postgresql" else (course, None)
    url = url or f"sqlite:///{course / 'gradebook.db'}"
    folder, out = tmp_path / "submitted", tmp_path / "out"
    reviewed = f"reviewed_{backend}"
    _write_students(root, folder, {reviewed: "stride_ignored"})
    assert grade(root, folder, out).returncode == 0
    late = {f"late{n}_{backend}": bug for n, bug in enumerate([None, "padding_ignored"])}
    _write_students(root, folder, late)
    with Gradebook(url) as ta:
        ta.find_grade(STRIDE_CELL, ASSIGNMENT, ASSIGNMENT, reviewed).manual_score = 0.5
        ta.db.flush()  # written, not committed: the TA's transaction stays open
        run = grade(root, folder, out)
        ta.db.commit()
    assert run.returncode == 0, run.stderr[-3000:]
    rows = read_grades(out)
    if backend == "sqlite":
        for student in late:
            assert rows[student]["status"] == "error", rows[student]
            assert "database is locked" in rows[student]["message"]
            assert not (out / "results" / f"{student}.json").exists()
        assert grade(root, folder, out).returncode == 0
        rows = read_grades(out)
    with Gradebook(url) as gb:
        for student, bug in late.items():
            assert (rows[student]["status"], float(rows[student]["score"])) == (
                "graded", EXPECTED_SCORES[bug])
            assert gb.find_submission(ASSIGNMENT, student).score == EXPECTED_SCORES[bug]
        kept = gb.find_grade(STRIDE_CELL, ASSIGNMENT, ASSIGNMENT, reviewed)
        assert (kept.manual_score, kept.score) == (0.5, 0.5)


# --- One transaction per group of students -----------------------------------------------


@pytest.fixture(params=["postgresql", "sqlite"])
def fresh_gradebook(request, postgres, course, tmp_path):
    """The course's assignment with an empty gradebook of its own, on either backend."""
    if request.param == "postgresql":
        url = postgres.create_database(f"groups_{uuid.uuid4().hex[:12]}")
    else:
        url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assignment = dataclasses.replace(load_assignment(ASSIGNMENT, course), db_url=url)
    with open_gradebook(assignment) as gb:
        yield assignment, gb


def _scores(gb: Gradebook, students: list[str]) -> dict[str, float]:
    gb.db.expire_all()
    return {s: gb.find_submission(ASSIGNMENT, s).score for s in students}


def test_a_group_is_one_transaction_and_its_statements_do_not_grow_with_it(fresh_gradebook):
    assignment, gb = fresh_gradebook
    sent = Statements(gb.engine)
    many = [f"s{n:03d}" for n in range(40)]
    first = scored_results(assignment, many, passed=1)
    record(gb, assignment, first)
    assert sent.commits == 1  # 40 students seen for the first time, each created by nbgrader
    assert _scores(gb, many) == {r.student_id: r.score for r in first}
    costs = {}
    for size, passed in ((4, 3), (40, 5)):  # graded again with other scores, as --force does
        again = scored_results(assignment, many[:size], passed)
        sent.reset()
        record(gb, assignment, again)
        costs[size] = (sent.statements, sent.commits)
        assert _scores(gb, many[:size]) == {r.student_id: r.score for r in again}
    assert costs[4] == costs[40], costs  # a few statements per group, whatever its size
    assert costs[40][1] == 1 and costs[40][0] <= 6, costs


def test_a_group_is_all_or_nothing(fresh_gradebook):
    """A failure inside a group's transaction, after some of its rows were written, leaves
    none of the group's students or scores behind."""
    assignment, gb = fresh_gradebook
    results = scored_results(assignment, ["kept_out1", "kept_out2"], passed=3)
    broken = dataclasses.replace(results[1], notebooks=None)  # fails after the first's rows
    with pytest.raises(TypeError):
        record(gb, assignment, [results[0], broken])
    gb.db.expire_all()
    for student in ("kept_out1", "kept_out2"):
        with pytest.raises(MissingEntry):
            gb.find_student(student)


# A rule of the database's own that refuses some students' rows (a DBA's constraint, a
# trigger): it stands for anything the database refuses about one student.
REFUSE_STUDENTS = """
CREATE FUNCTION refuse_student() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id LIKE 'refused%' THEN RAISE EXCEPTION 'student % refused by the course rules', NEW.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_student BEFORE INSERT ON student
    FOR EACH ROW EXECUTE FUNCTION refuse_student();
"""


def test_a_student_the_database_refuses_costs_only_their_row(postgres, pg_course, tmp_path):
    """The database refuses one student of a batch: the group holding them is recorded again
    a student at a time, so the others are recorded, and the refused one gets an error row
    saying why, no result file, and is graded again next run."""
    course, url = pg_course
    folder, out = tmp_path / "submitted", tmp_path / "out"
    students = {"refused_by_the_database": None, "next_to_a_refused_one": "only_1d"}
    _write_students(course, folder, students)
    with postgres.connect(url.rsplit("/", 1)[1], autocommit=True) as connection:
        connection.execute(REFUSE_STUDENTS)
        try:
            run = grade(course, folder, out, "--workers", "2")
        finally:
            connection.execute("DROP TRIGGER refuse_student ON student")
            connection.execute("DROP FUNCTION refuse_student")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = read_grades(out)
    refused = rows["refused_by_the_database"]
    assert refused["status"] == "error" and "refused by the course rules" in refused["message"]
    assert not (out / "results" / "refused_by_the_database.json").exists()
    assert rows["next_to_a_refused_one"]["status"] == "graded"
    with Gradebook(url) as gb:
        assert gb.find_submission(ASSIGNMENT, "next_to_a_refused_one").score == EXPECTED_SCORES[
            "only_1d"]
        with pytest.raises(MissingEntry):
            gb.find_student("refused_by_the_database")
    assert grade(course, folder, out).returncode == 0  # the database accepts them now
    assert read_grades(out)["refused_by_the_database"]["status"] == "graded"


def test_a_refused_group_is_recorded_a_student_at_a_time(postgres, course):
    assignment = load_assignment(ASSIGNMENT, course)
    name = f"refusing_{uuid.uuid4().hex[:12]}"
    assignment = dataclasses.replace(assignment, db_url=postgres.create_database(name))
    with open_gradebook(assignment) as gb:
        with postgres.connect(name, autocommit=True) as connection:
            connection.execute(REFUSE_STUDENTS)
        results = scored_results(assignment, ["first", "refused_one", "last"], passed=4)
        batch = SimpleNamespace(gradebook=gb, assignment=assignment)
        recorded, refused = _record_in_groups(batch, results)
        assert [r.student_id for r in recorded] == ["first", "last"]
        assert list(refused) == ["refused_one"]
        assert "refused by the course rules" in str(refused["refused_one"])
        assert _scores(gb, ["first", "last"]) == {r.student_id: r.score for r in recorded}


def _waits_for_a_lock(postgres, database: str) -> bool:
    with postgres.connect(database) as connection:
        query = ("SELECT count(*) FROM pg_stat_activity"
                 " WHERE datname = %s AND wait_event_type = 'Lock'")
        return connection.execute(query, (database,)).fetchone()[0] > 0


def test_a_stop_while_the_batch_waits_for_a_graders_row(postgres, pg_course, tmp_path):
    """On PostgreSQL a new score for a cell a TA is editing waits for the TA's commit (nothing
    fails). A stop signal still ends the batch within its 2 s, with the earlier result kept
    whole; the re-run, once the TA is done, records the new score."""
    course, url = pg_course
    folder, out = tmp_path / "submitted", tmp_path / "out"
    student = "resubmitted_under_review"
    _write_students(course, folder, {student: "stride_ignored"})
    assert grade(course, folder, out).returncode == 0
    earlier = (out / "results" / f"{student}.json").read_bytes()
    nbformat.write(make_submission(source_notebook(course), None),
                   folder / student / f"{ASSIGNMENT}.ipynb")  # fixed, and regraded with --force
    with Gradebook(url) as ta:
        ta.find_grade(STRIDE_CELL, ASSIGNMENT, ASSIGNMENT, student).manual_score = 1.0
        ta.db.flush()  # the TA's transaction holds that row
        with open(tmp_path / "grader.log", "w") as log:
            grader = subprocess.Popen(grade_command(folder, out, "--force"), cwd=course,
                                      env=grader_env(), stdout=log, stderr=log)
        try:
            wait_until(lambda: _waits_for_a_lock(postgres, url.rsplit("/", 1)[1]), 300,
                       "the batch waiting for the TA's row", grader)
            sent = time.monotonic()
            grader.send_signal(signal.SIGINT)
            grader.wait(timeout=60)
            assert time.monotonic() - sent < STOP_SECONDS
        finally:
            if grader.poll() is None:
                grader.kill()
        ta.db.rollback()
    assert grader.returncode == 128 + signal.SIGINT, (tmp_path / "grader.log").read_text()[-2000:]
    assert (out / "results" / f"{student}.json").read_bytes() == earlier
    assert grade(course, folder, out, "--force").returncode == 0
    with Gradebook(url) as gb:
        assert gb.find_submission(ASSIGNMENT, student).score == EXPECTED_SCORES[None]
