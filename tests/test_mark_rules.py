"""The rules in tests/conftest.py that keep `-m "not slow"` quick and honest, run on fake tests
(pytester): a test that uses a fixture starting nbgrader, a build, a server or a browser, or
that starts a bubblewrap sandbox in any other way, is reported unless it carries the marks."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
REPORTED = "started a bubblewrap sandbox but lacks the slow mark"

SANDBOX_TESTS = '''
import subprocess
import sys
import time

import pytest

from autograder.sandbox import Limits, Sandbox, discover_layout
from autograder.slots import lease_slot

CHECK_SANDBOX = (
    "from autograder.sandbox import Limits, check_sandbox, discover_layout\\n"
    "check_sandbox(discover_layout(), Limits())"
)


def start_a_sandbox():
    with lease_slot() as slot, Sandbox(discover_layout(), slot, Limits()) as box:
        ready, _ = box.receive(time.monotonic() + 120)
        assert ready["event"] == "ready"  # the real bwrap ran behind the stand-in


def test_unmarked_sandbox():
    start_a_sandbox()


@pytest.mark.slow
def test_marked_sandbox():
    start_a_sandbox()


def test_unmarked_sandbox_in_a_subprocess():
    subprocess.run([sys.executable, "-c", CHECK_SANDBOX], check=True)


def test_unmarked_no_sandbox():
    assert sum(range(4)) == 6
'''

FIXTURE_TESTS = '''
import pytest


@pytest.fixture
def course():  # the name is what counts: the real one runs nbgrader
    return "a course"


@pytest.fixture
def graded(course):  # ... also when used through another fixture
    return course


def test_unmarked_course(graded):
    assert graded == "a course"


@pytest.mark.slow
def test_marked_course(graded):
    assert graded == "a course"
'''


@pytest.fixture
def rules(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    slow: starts real tools\n    browser: a browser\n")
    return pytester


@pytest.mark.slow  # it starts real sandboxes
def test_a_sandbox_started_without_the_slow_mark_is_reported(rules: pytest.Pytester):
    rules.makepyfile(test_fake=SANDBOX_TESTS)
    result = rules.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=4, errors=2)  # two unmarked sandboxes: errors at teardown
    result.stdout.fnmatch_lines_random([
        "*ERROR at teardown of test_unmarked_sandbox *",
        "*ERROR at teardown of test_unmarked_sandbox_in_a_subprocess *",
        f"test_fake.py::test_unmarked_sandbox {REPORTED}*",
        f"test_fake.py::test_unmarked_sandbox_in_a_subprocess {REPORTED}*",
        "PASSED test_fake.py::test_marked_sandbox",
        "PASSED test_fake.py::test_unmarked_no_sandbox",
    ])


def test_a_fixture_that_needs_marks_fails_collection_without_them(rules: pytest.Pytester):
    rules.makepyfile(test_fake=FIXTURE_TESTS)
    result = rules.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lack the marks*", "*test_fake.py::test_unmarked_course: slow"])
    assert "test_marked_course" not in result.stderr.str()


LEFTOVER_TESTS = '''
import subprocess


def test_leaves_a_process_behind():
    subprocess.Popen(["sleep", "60"])  # ends by itself a minute later


def test_waits_for_its_process():
    subprocess.run(["true"], check=True)
'''


def test_a_process_left_running_after_the_session_fails_it(rules: pytest.Pytester):
    grace = "LEFTOVER_GRACE_SECONDS = 30.0"
    conftest = CONFTEST.read_text()
    assert grace in conftest
    rules.makeconftest(conftest.replace(grace, "LEFTOVER_GRACE_SECONDS = 1"))  # quicker
    rules.makepyfile(test_fake=LEFTOVER_TESTS)
    result = rules.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["processes started by the tests still run after the session:",
                                 "  *: sleep 60"])
