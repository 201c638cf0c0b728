"""Fixtures for the exercises: a throwaway nbgrader course made from the repo's files."""

from __future__ import annotations

import sys

import pytest
from exercises_course import REPO, autograde_batch

if str(REPO) not in sys.path:  # autograder.mutants lives in the repo, not in an installed package
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A course copied from the repo, its release regenerated, a batch autograded, feedback made."""
    return autograde_batch(tmp_path_factory.mktemp("course"))
