"""Fixtures for the exercises: a throwaway nbgrader course made from the repo's files."""

from __future__ import annotations

import pytest
from exercises_course import autograde_batch


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A course copied from the repo, its release regenerated, a batch autograded, feedback made."""
    return autograde_batch(tmp_path_factory.mktemp("course"))
