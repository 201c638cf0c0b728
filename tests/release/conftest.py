"""Fixtures for the launch and student-release tests: the release itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from release_helpers import REPO


@pytest.fixture(scope="session")
def student_release(built_site: Path, tmp_path_factory) -> Path:
    """The release as `make student-release` writes it, made from the session's built site."""
    out = tmp_path_factory.mktemp("release") / "student"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "student_release.py"),
         "--site", str(built_site), "--out", str(out)],
        check=True, cwd=REPO,
    )
    return out
