"""The whole corpus of broken and adversarial submissions, graded as ONE batch by the real
command: each gets its status and score, the batch finishes, nobody else is affected."""

from __future__ import annotations

import json
import os
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from autograder_corpus import (
    COLLECTED_AT,
    HOME_SECRET,
    SUBMISSION_SECONDS,
    build_folder_kinds,
    build_kinds,
)
from dask_cluster import client_flags
from grading_helpers import (
    ASSIGNMENT,
    FORMGRADER_TOKEN,
    Listener,
    check_kind,
    formgrader,
    get_page,
    grade,
    grader_env,
    hidden_test_lines,
    nbgrader,
    read_grades,
    source_notebook,
    visible_text,
    write_corpus,
    write_student,
)
from nbgrader.api import Gradebook

from autograder.sandbox import FIRST_SANDBOX_UID
from autograder.slots import MAX_SLOTS, is_held

# Whatever a submission does, what the grader stores for it stays readable.
MAX_STORED_BYTES = 100_000

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
    listener = Listener()
    home = work / "home"  # the grader's home, with something a submission must not read
    home.mkdir()
    (home / HOME_SECRET).write_text("the instructor's notes")
    kinds = build_kinds(course, work / "submissions", listener.port, home)
    archive = write_corpus(course, kinds, work / "submissions", work / "class.zip")
    out = work / "out"
    scratch = work / "tmp"
    scratch.mkdir()
    env = grader_env(TMPDIR=str(scratch), HOME=str(home),
                     AUTOGRADER_SUBMISSION_TIMEOUT=str(SUBMISSION_SECONDS))
    result = grade(course, archive, out, "--workers", "2", env=env)
    return {
        "kinds": kinds,
        "out": out,
        "work": work,
        "archive": archive,
        "run": result,
        "env": env,
        "connected": listener.reached(),
        "leftovers": _sandbox_processes(),
    }


@pytest.fixture(scope="module")
def graded_folder(course: Path, tmp_path_factory):
    """The kinds only a folder can hold, graded from the folder."""
    work = tmp_path_factory.mktemp("folder_corpus")
    folder = work / "submitted"
    folder.mkdir()
    kinds = build_folder_kinds(course)
    for kind in kinds:
        if kind.plant is not None:
            kind.plant(folder / kind.student_id)
        else:
            write_student(folder, kind.student_id, kind.notebook(source_notebook(course)))
    out = work / "out"
    env = grader_env()
    run = grade(course, folder, out, "--workers", "2", env=env)
    return {"kinds": kinds, "out": out, "run": run, "env": env}


def test_batch_finishes_with_one_row_per_student(graded_corpus, graded_folder):
    for graded in (graded_corpus, graded_folder):
        run = graded["run"]
        assert run.returncode == 0, run.stderr[-3000:]
        rows = read_grades(graded["out"])
        assert sorted(rows) == sorted(k.row_id for k in graded["kinds"])
        # Said once, at the start: which protections hold (a uid per slot only as root; the
        # suite run by an ordinary user gets the grader's own, test_autograder_ordinary_user).
        assert run.stderr.count("sandbox protections:") == 1, run.stderr[-3000:]
        uid = "uid: one per slot" if os.geteuid() == 0 else "uid: the grader's own"
        assert uid in run.stderr and "a seccomp filter refuses" in run.stderr
    assert len(graded_corpus["kinds"]) >= 20


def _gradebook_id(kind) -> str:
    return unicodedata.normalize("NFC", kind.student_id)


# The kinds' names, for test ids (building kinds only makes closures; nothing runs yet).
KIND_IDS = [kind.student_id for kind in build_kinds(Path("/course"), Path("/submitted"), 0)]
FOLDER_KIND_IDS = [kind.student_id for kind in build_folder_kinds(Path("/course"))]


@pytest.mark.parametrize("student_id", KIND_IDS)
def test_each_kind_gets_its_status_and_score(graded_corpus, student_id):
    check_kind(graded_corpus["kinds"], graded_corpus["out"], student_id)


@pytest.mark.parametrize("student_id", FOLDER_KIND_IDS)
def test_each_folder_kind_gets_its_status_and_score(graded_folder, student_id):
    check_kind(graded_folder["kinds"], graded_folder["out"], student_id)


def test_what_a_submission_makes_the_grader_store_is_bounded(graded_corpus, graded_folder):
    for graded in (graded_corpus, graded_folder):
        out = graded["out"]
        stored = [*out.glob("results/*.json"), *out.glob("feedback/*/*.html")]
        assert len(stored) >= 4
        for path in stored:
            assert path.stat().st_size < MAX_STORED_BYTES, path
            path.read_text("utf-8")  # every file is valid UTF-8
        assert (out / "grades.csv").stat().st_size < MAX_STORED_BYTES
    flood = json.loads((graded_corpus["out"] / "results" / "error_flood.json").read_text())
    assert len(flood["notebooks"][0]["cell_errors"]) == 21


def test_surrogates_reach_every_output_replaced(graded_corpus, course):
    autograded = course / "autograded" / "surrogates" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    text = autograded.read_text("utf-8")
    assert "\\udcff" not in text and "caf\ufffd" in text
    page = (graded_corpus["out"] / "feedback" / "surrogates" / f"{ASSIGNMENT}.html").read_text()
    assert "\ufffd" in page


def _submitted_at(course: Path, student_id: str) -> datetime | None:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission(ASSIGNMENT, student_id).timestamp


def test_times_come_only_from_the_instructors_tools(graded_corpus, graded_folder, course):
    with zipfile.ZipFile(graded_corpus["archive"]) as zf:
        member = zf.getinfo(f"lms_own_timestamp/{ASSIGNMENT}.ipynb")
    assert _submitted_at(course, "lms_own_timestamp") == datetime(*member.date_time)
    assert _submitted_at(course, "collected") == datetime.fromisoformat(COLLECTED_AT[:-4])
    assert _submitted_at(course, "forged_time") is None


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


def test_gradebook_holds_the_same_scores(graded_corpus, graded_folder, course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for graded in (graded_corpus, graded_folder):
            rows = read_grades(graded["out"])
            for kind in graded["kinds"]:
                if kind.status == "error":
                    continue
                submission = gb.find_submission(ASSIGNMENT, _gradebook_id(kind))
                score = float(rows[kind.row_id]["score"])
                assert submission.score == pytest.approx(score), kind.student_id


STUDENT_SCRIPT = "STUDENT-SCRIPT-RAN"  # what every hostile_markup payload logs when it runs


def _scripts_that_ran(browser, url: str) -> tuple[list[str], str]:
    """Open ``url`` (nothing but local requests allowed), let the page load and settle, and
    return what student script logged or alerted, and the page's visible text."""
    context = browser.new_context()
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("file:", "http://127.0.0.1", "data:", "about:"))
            else route.abort()
        ),
    )
    ran: list[str] = []
    page = context.new_page()
    page.on(
        "console",
        lambda message: ran.append(message.text) if STUDENT_SCRIPT in message.text else None,
    )
    page.on("dialog", lambda dialog: (ran.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_function("Array.from(document.images).every(image => image.complete)")
        # Handlers queued by parsing (toggle, error) run before two frames have been drawn.
        page.evaluate(
            "() => new Promise(done => requestAnimationFrame(() => "
            "requestAnimationFrame(() => setTimeout(done, 0))))"
        )
        return ran, page.inner_text("body")
    finally:
        context.close()


@pytest.mark.browser
def test_review_pages_run_no_student_script(graded_corpus, course, chromium, tmp_path):
    """The pages a grader opens (our feedback, nbgrader's generate_feedback and formgrader,
    both from our autograded notebook) show the hostile student's markup as text and run none
    of it; the same notebook rendered as it was submitted does run it (the check can fail)."""
    from nbconvert import HTMLExporter

    submitted = graded_corpus["work"] / "submissions" / "hostile_markup" / f"{ASSIGNMENT}.ipynb"
    as_submitted = tmp_path / "as_submitted.html"
    as_submitted.write_text(HTMLExporter().from_filename(str(submitted))[0], "utf-8")
    ran, _ = _scripts_that_ran(chromium, as_submitted.as_uri())
    assert len(ran) >= 3, ran

    nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", "hostile_markup", "--force")
    pages = [
        graded_corpus["out"] / "feedback" / "hostile_markup" / f"{ASSIGNMENT}.html",
        course / "feedback" / "hostile_markup" / ASSIGNMENT / f"{ASSIGNMENT}.html",
    ]
    for page in pages:
        ran, text = _scripts_that_ran(chromium, page.as_uri())
        assert ran == [] and STUDENT_SCRIPT in text, (page, ran)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "hostile_markup").id
    with formgrader(course) as url:
        review = f"{url}/formgrader/submissions/{notebook_id}/?token={FORMGRADER_TOKEN}"
        get_page(review)  # the server is up
        ran, text = _scripts_that_ran(chromium, review)
    assert ran == [] and STUDENT_SCRIPT in text, ran


def _stored_without_times(out: Path) -> dict[str, object]:
    """Every result (its run times dropped) and feedback page a run stored, by path."""
    stored: dict[str, object] = {}
    for path in sorted(out.glob("results/*.json")):
        result = json.loads(path.read_text("utf-8"))
        result.pop("seconds", None)
        for notebook in result["notebooks"]:
            for cell in notebook["cells"]:
                cell.pop("seconds", None)
        stored[path.relative_to(out).as_posix()] = result
    for path in sorted(out.glob("feedback/*/*.html")):
        stored[path.relative_to(out).as_posix()] = path.read_bytes()
    return stored


def test_dask_workers_grade_the_corpus_as_the_local_pool(
    graded_corpus, graded_folder, course, dask_cluster
):
    """The same archive and folder graded through --scheduler (two `dask worker` processes,
    mutual TLS): grades.csv byte for byte, and every result and feedback page apart from run
    times, as the local pool stored them."""
    for name, graded, submissions in (
        ("corpus", graded_corpus, graded_corpus["archive"]),
        ("folder", graded_folder, graded_folder["out"].parent / "submitted"),
    ):
        out = graded["out"].parent / f"dask-{name}"
        flags = ["--scheduler", dask_cluster.address, *client_flags(dask_cluster.certs)]
        # The local run's limits (the corpus's own submission budget) travel to the workers.
        run = grade(course, submissions, out, *flags, env=graded["env"])
        assert run.returncode == 0, run.stderr[-3000:]
        assert "grading on the Dask scheduler" in run.stderr
        local = graded["out"]
        assert (out / "grades.csv").read_bytes() == (local / "grades.csv").read_bytes()
        assert _stored_without_times(out) == _stored_without_times(local)
