"""Grading as an ordinary user, as an instructor on a JupyterHub does: no root, no writable
cgroups, no other uid to switch to. bubblewrap builds the sandbox in an unprivileged user
namespace; the corpus graded by a real non-root user gets the same grades as root, nothing
escapes or outlives its sandbox, the command says which protections it lacks, and where the
kernel refuses user namespaces it exits 2 saying what to enable."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from autograder_corpus import HOME_SECRET, SUBMISSION_SECONDS, build_kinds
from grading_helpers import ASSIGNMENT, Listener, check_kind, write_corpus
from ordinary_user import SYSTEM_PYTHON, members, tracking_cgroup, workspace

pytestmark = pytest.mark.slow

KIND_IDS = [kind.student_id for kind in build_kinds(Path("/course"), Path("/submitted"), 0)]


def _grade_command(space, archive: Path, out: Path) -> list[str]:
    return [str(space.python), "-m", "autograder", "grade", ASSIGNMENT, str(archive),
            "--out", str(out), "--workers", "2"]


def _wait_until_empty(group: Path, seconds: float = 15.0) -> list[int]:
    end = time.monotonic() + seconds
    while members(group) and time.monotonic() < end:
        time.sleep(0.05)
    return members(group)


@pytest.fixture(scope="module")
def space():
    if os.geteuid() != 0:
        pytest.skip("creating the ordinary user to grade as needs root (CI runs as root)")
    if not SYSTEM_PYTHON.exists() or not shutil.which("setpriv"):
        pytest.skip(f"needs {SYSTEM_PYTHON} and setpriv (Debian's python3.11, util-linux)")
    with workspace() as made:
        check = subprocess.run(
            made.command([str(made.python), "-c", "import autograder.batch, torch"]),
            env=made.env(), capture_output=True, text=True,
        )
        if check.returncode != 0:
            pytest.fail(
                "the ordinary user cannot import the project's packages: clone the repository "
                "where other users can read it (not under a 0700 home)\n" + check.stderr[-2000:]
            )
        yield made


@pytest.fixture(scope="module")
def user_course(course: Path, space) -> Path:
    """The instructor's course folder, owned by the ordinary user."""
    course_copy = space.work / "course"
    shutil.copytree(course, course_copy)
    space.own(course_copy)
    return course_copy


@pytest.fixture(scope="module")
def user_corpus(user_course: Path, space):
    """The corpus, graded by the ordinary user from a course folder it owns."""
    course_copy = user_course
    (space.home / HOME_SECRET).write_text("the instructor's notes")
    listener = Listener()
    kinds = build_kinds(course_copy, space.work / "submissions", listener.port, space.home)
    archive = write_corpus(course_copy, kinds, space.work / "submissions", space.work / "class.zip")
    space.own(space.home, space.work / "submissions", archive)
    out = space.work / "out"
    with tracking_cgroup() as tracking:
        run = subprocess.run(
            space.command(_grade_command(space, archive, out), tracking),
            cwd=course_copy, env=space.env(AUTOGRADER_SUBMISSION_TIMEOUT=str(SUBMISSION_SECONDS)),
            capture_output=True, text=True,
        )
        leftovers = _wait_until_empty(tracking) if tracking else None
    return {"kinds": kinds, "out": out, "run": run, "course": course_copy,
            "connected": listener.reached(), "leftovers": leftovers}


def test_the_command_says_which_protections_hold_without_root(user_corpus):
    run = user_corpus["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count("sandbox protections:") == 1, run.stderr[-3000:]
    for says in (
        "in an unprivileged user namespace (not root)",
        "uid: the grader's own (no uid switch without root)",
        "(no memory cgroup)",
        "CPU: not capped per slot",
        "a seccomp filter refuses",
    ):
        assert says in run.stderr, says


@pytest.mark.parametrize("student_id", KIND_IDS)
def test_each_kind_gets_the_same_grade_as_root(user_corpus, student_id):
    check_kind(user_corpus["kinds"], user_corpus["out"], student_id)


def test_nothing_escaped_or_outlived_its_sandbox(user_corpus, space):
    assert not user_corpus["connected"], "a submission reached a local TCP port"
    assert not (user_corpus["course"] / "pwned.txt").exists()
    assert not (space.work / "submissions" / "write_outside" / "pwned.txt").exists()
    if user_corpus["leftovers"] is None:
        pytest.skip("no cgroup to track the command's processes in")
    assert user_corpus["leftovers"] == [], "processes outlived the grading command"


def test_refuses_to_grade_where_user_namespaces_are_refused(space, user_course):
    """``bwrap --disable-userns`` makes a user namespace in which no further one may be made:
    for the grader inside, the kernel refuses user namespaces as a hardened kernel would."""
    submissions = space.work / "refused"
    (submissions / "someone").mkdir(parents=True)
    space.own(submissions)
    outer = [shutil.which("bwrap") or "bwrap", "--unshare-user", "--disable-userns",
             "--dev-bind", "/", "/", "--"]
    command = _grade_command(space, submissions, space.work / "refused-out")
    run = subprocess.run(
        space.command([*outer, *command]), cwd=user_course, env=space.env(),
        capture_output=True, text=True,
    )
    assert run.returncode == 2, run.stderr[-3000:]
    assert "unprivileged user namespaces" in run.stderr, run.stderr[-3000:]
    assert "kernel.unprivileged_userns_clone=1" in run.stderr
    assert not (space.work / "refused-out" / "grades.csv").exists()
