"""Fixtures shared by every test area (book, exercises, autograder, release)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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
