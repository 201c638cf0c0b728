"""Fixtures shared by every test area (book, exercises, autograder, release)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.browser import launch_chromium, serve
from testkit.processes import command_line, process_tree, still_running

pytest_plugins = ["pytester"]  # tests/test_mark_rules.py runs pytest on fake tests

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


# Fixtures that run real nbgrader, the grader's sandbox, a site build, a Jupyter server or a
# browser. A test using one, directly or through another fixture, must carry these marks, so
# that `-m "not slow"` really is quick; collection fails otherwise (pytest_collection_modifyitems).
MARKS_OF_FIXTURES = {
    "course": {"slow"},  # nbgrader generate_assignment (the autograder's tests grade in it)
    "graded_course": {"slow"},  # nbgrader autograde
    "postgres": {"slow"},  # a PostgreSQL server (testkit.postgres)
    "built_site": {"slow"},  # jupyter-book build
    "student_jupyter": {"slow"},  # a Jupyter server
    "chromium": {"slow", "browser"},
    "dask_cluster": {"slow"},  # a `dask scheduler` and `dask worker` processes
}


def missing_marks(item: pytest.Item) -> list[str]:
    """The marks ``item`` needs for the fixtures it uses and does not have."""
    needed = set()
    for fixture in item.fixturenames:  # the whole closure: fixtures of fixtures too
        needed |= MARKS_OF_FIXTURES.get(fixture, set())
    return sorted(mark for mark in needed if item.get_closest_marker(mark) is None)


def pytest_collection_modifyitems(config, items):
    unmarked = [f"{item.nodeid}: {', '.join(m)}" for item in items if (m := missing_marks(item))]
    if unmarked:
        raise pytest.UsageError(
            "these tests run real nbgrader, a build, a server or a browser, but lack the marks "
            "(add them, e.g. pytestmark = pytest.mark.slow):\n  " + "\n  ".join(unmarked)
        )


# A test may also start bubblewrap without any of those fixtures: a Sandbox of its own, the
# grade command in a subprocess, a script. Whatever starts it finds bwrap through
# AUTOGRADER_BWRAP (autograder.sandbox.bwrap_executable; a subprocess inherits it), so a test
# without the slow mark runs with AUTOGRADER_BWRAP set to a stand-in that notes each start and
# then runs the real bwrap; a test that started one fails at teardown. The stand-in cannot
# read the note's path from its environment: the sandbox starts bwrap with an empty one.
SANDBOX_NEEDS_SLOW = "started a bubblewrap sandbox but lacks the slow mark"


class SandboxStarts:
    """A stand-in bwrap that counts its starts in a file, then execs the real one."""

    def __init__(self, folder: Path, real_bwrap: str) -> None:
        self.record = folder / "starts"
        self.record.touch()
        self.executable = folder / "bwrap"
        self.executable.write_text(
            "#!/bin/sh\n"
            f"echo started >> {shlex.quote(str(self.record))}\n"
            f'exec {shlex.quote(real_bwrap)} "$@"\n'
        )
        self.executable.chmod(0o755)

    def count(self) -> int:
        return len(self.record.read_text().splitlines())


@pytest.fixture(scope="session")
def _sandbox_starts(tmp_path_factory) -> SandboxStarts:
    from autograder.sandbox import bwrap_executable

    return SandboxStarts(tmp_path_factory.mktemp("bwrap-stand-in"), bwrap_executable())


@pytest.fixture(autouse=True)
def _sandbox_needs_the_slow_mark(request) -> Iterator[None]:
    if request.node.get_closest_marker("slow") is not None:
        yield
        return
    starts = request.getfixturevalue("_sandbox_starts")
    before, saved = starts.count(), os.environ.get("AUTOGRADER_BWRAP")
    os.environ["AUTOGRADER_BWRAP"] = str(starts.executable)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AUTOGRADER_BWRAP", None)
        else:
            os.environ["AUTOGRADER_BWRAP"] = saved
    if starts.count() > before:
        pytest.fail(f"{request.node.nodeid} {SANDBOX_NEEDS_SLOW} (pytestmark = pytest.mark.slow)",
                    pytrace=False)


# Every process a test starts (a server, a browser, a kernel, a grader, a sandbox) must have
# ended once the fixtures that started it are torn down: at the end of the session nothing
# started by it may still run. Checked after a grace period, since a kill takes a moment.
LEFTOVER_GRACE_SECONDS = 30.0


def pytest_sessionfinish(session, exitstatus):
    if session.config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    started = process_tree(os.getpid())
    end = time.monotonic() + LEFTOVER_GRACE_SECONDS
    while (left := still_running(started)) and time.monotonic() < end:
        time.sleep(0.1)
    if left:
        lines = "\n  ".join(f"{pid}: {command_line(pid)}" for pid in left)
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(f"processes started by the tests still run after the session:\n  {lines}",
                    red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def tool_env() -> dict[str, str]:
    """Environment for subprocesses: the venv's bin first (nbgrader runs `alembic` from PATH)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the site once per session (warnings are errors) and return ``_build/html``.

    The build uses the same cache as `make book`, so after `make book` this is a quick
    no-change rebuild. TCONV_BUILD_ROOT moves the whole `_build` (e.g. for parallel work).
    """
    root = Path(os.environ.get("TCONV_BUILD_ROOT", REPO))
    cmd = [str(BIN / "jupyter-book"), "build", str(REPO), "-W", "-n", "--keep-going"]
    if root != REPO:
        cmd += ["--path-output", str(root)]
    result = subprocess.run(cmd, cwd=REPO, env=tool_env(), capture_output=True, text=True)
    log = f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    assert result.returncode == 0, f"book build failed:\n{log}"
    return root / "_build" / "html"


@pytest.fixture(scope="session")
def site_url(built_site: Path):
    """The built site served on 127.0.0.1 at a free port; the base URL ends with "/"."""
    with serve(built_site) as url:
        yield url


# The one browser of the tests (book, autograder, release). Module scope, not session: while a
# sync Playwright runs, it marks its event loop as running in this thread, and asyncio.run()
# (nbclient, Jupyter clients) refuses to start under it; between modules it is stopped.
@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
