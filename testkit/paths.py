"""Folders the tests hand to another user (the grading user, PostgreSQL's server account)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def traversable(*paths: Path) -> Iterator[None]:
    """Let other users pass through (not list) every folder above ``paths`` while the test runs.

    A clean clone may sit under root's 0700 home or a 0700 ``mktemp -d`` folder; the user then
    cannot reach the project's packages. Each folder that lacks the others' search bit gets it,
    and its exact mode back afterwards.
    """
    changed: dict[Path, int] = {}
    try:
        for path in paths:
            for folder in [path, *path.parents]:
                mode = folder.stat().st_mode & 0o7777
                if folder not in changed and not mode & 0o001:
                    changed[folder] = mode
                    folder.chmod(mode | 0o001)
        yield
    finally:
        for folder, mode in changed.items():
            folder.chmod(mode)
