"""The whole corpus of broken and adversarial submissions, graded as ONE batch by the real
command: each gets its status and score, the batch finishes, nobody else is affected."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from autograder_corpus import build_kinds
from grading_helpers import (
    ASSIGNMENT,
    grade,
    grader_env,
    hidden_test_lines,
    read_grades,
    source_notebook,
    visible_text,
    write_student,
    zip_folder,
)
from nbgrader.api import Gradebook

from autograder.sandbox import FIRST_SANDBOX_UID
from autograder.slots import MAX_SLOTS, is_held

pytestmark = pytest.mark.slow


def _sandbox_processes() -> list[str]:
    """Processes still running under the uid of a sandbox slot that nobody holds any more.
    Slots held right now belong to other grading runs on this machine and are theirs."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                slot = entry.stat().st_uid - FIRST_SANDBOX_UID
                if 0 <= slot < MAX_SLOTS and not is_held(slot):
                    found.append((entry / "cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def graded_corpus(course: Path, tmp_path_factory):
    work = tmp_path_factory.mktemp("corpus")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    folder = work / "submissions"
    kinds = build_kinds(course, folder, listener.getsockname()[1])
    raw, links = {}, {}
    for kind in kinds:
        if kind.notebook is not None:
            write_student(folder, kind.student_id, kind.notebook(source_notebook(course)))
        raw.update(kind.zip_members)
        if kind.symlink_to:
            links[f"{kind.student_id}/{ASSIGNMENT}.ipynb"] = kind.symlink_to
    archive = work / "class.zip"
    zip_folder(folder, archive, raw, links)
    out = work / "out"
    scratch = work / "tmp"
    scratch.mkdir()
    result = grade(course, archive, out, "--workers", "2", env=grader_env(TMPDIR=str(scratch)))
    try:
        listener.accept()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    return {
        "kinds": kinds,
        "out": out,
        "work": work,
        "run": result,
        "connected": connected,
        "leftovers": _sandbox_processes(),
    }


def test_batch_finishes_with_one_row_per_student(graded_corpus):
    run = graded_corpus["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    rows = read_grades(graded_corpus["out"])
    assert sorted(rows) == sorted(k.student_id for k in graded_corpus["kinds"])
    assert len(graded_corpus["kinds"]) >= 20


def _explanation(out: Path, row: dict) -> str:
    """The CSV message plus, for safe ids, every per-cell message and cell error."""
    path = out / "results" / f"{row['student_id']}.json"
    if row["status"] == "error" or not path.exists():
        return row["message"]
    return row["message"] + json.dumps(json.loads(path.read_text("utf-8"))["notebooks"])


# The kinds' names, for test ids (building kinds only makes closures; nothing runs yet).
KIND_IDS = [kind.student_id for kind in build_kinds(Path("/course"), Path("/submitted"), 0)]


@pytest.mark.parametrize("student_id", KIND_IDS)
def test_each_kind_gets_its_status_and_score(graded_corpus, student_id):
    kind = next(k for k in graded_corpus["kinds"] if k.student_id == student_id)
    row = read_grades(graded_corpus["out"])[kind.student_id]
    assert (row["status"], float(row["score"])) == (kind.status, kind.score), (kind.student_id, row)
    assert float(row["max_score"]) == 19.0
    assert row["assignment"] == ASSIGNMENT
    assert kind.message in _explanation(graded_corpus["out"], row), row


def test_nothing_escaped_the_sandbox(graded_corpus, course):
    assert not graded_corpus["connected"], "a submission reached a local TCP port"
    assert graded_corpus["leftovers"] == [], "sandboxed processes outlived the batch"
    for path in [
        course / "pwned.txt",
        graded_corpus["work"] / "submissions" / "write_outside" / "pwned.txt",
    ]:
        assert not path.exists()
    assert not list(graded_corpus["work"].rglob("slipped.txt"))
    assert not list(graded_corpus["work"].parent.glob("slipped.txt"))


def test_unsafe_ids_are_never_paths(graded_corpus):
    out = graded_corpus["out"]
    feedback = {p.name for p in (out / "feedback").iterdir()}
    results = {p.stem for p in (out / "results").glob("*.json")}
    assert ".hidden" not in feedback | results and "x" not in feedback | results
    assert not (out.parent / "x").exists()
    assert "correct" in feedback


def test_feedback_never_shows_test_source(graded_corpus, course):
    hidden = hidden_test_lines(course)
    pages = list((graded_corpus["out"] / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = visible_text(page.read_text("utf-8"))
        assert "HIDDEN TESTS" not in text
        assert not [line for line in hidden if line in text], page


def test_gradebook_holds_the_same_scores(graded_corpus, course):
    rows = read_grades(graded_corpus["out"])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student_id, row in rows.items():
            if row["status"] == "error":
                continue
            submission = gb.find_submission(ASSIGNMENT, student_id)
            assert submission.score == pytest.approx(float(row["score"])), student_id
