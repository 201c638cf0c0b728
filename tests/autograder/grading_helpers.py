"""Helpers for the autograder tests: the real command in a subprocess, and its outputs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ASSIGNMENT = "transposed_conv"
# Short limits keep the corpus quick; each adversarial cell still has a clear margin to them.
LIMITS = {"AUTOGRADER_CELL_TIMEOUT": "4", "AUTOGRADER_SUBMISSION_TIMEOUT": "16"}


def source_notebook(course: Path) -> Path:
    return course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def hidden_test_lines(course: Path) -> list[str]:
    """Distinctive lines of the source's hidden tests (which no feedback may show)."""
    from autograder.mutants import hidden_test_lines as lines_only_hidden_tests_contain

    lines = lines_only_hidden_tests_contain([source_notebook(course)], min_length=20)
    assert lines, "the source notebook has no hidden tests to look for"
    return lines


def visible_text(html: str) -> str:
    """What a reader of an HTML page sees: tags (e.g. syntax highlighting) removed."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def grader_env(**extra: str) -> dict[str, str]:
    """The venv first on PATH (nbgrader runs alembic), the repo importable, short limits."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env.update(LIMITS)
    env.update(extra)
    return env


def generate_assignment(course: Path) -> None:
    """``nbgrader generate_assignment`` in a course folder: the release and the gradebook."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
        cwd=course,
        env=grader_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def grade_command(submissions: Path, out: Path, *flags: str) -> list[str]:
    """``python -m autograder grade`` as an instructor types it."""
    return [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions),
            "--out", str(out), *flags]


def grade(course: Path, submissions: Path, out: Path, *flags: str, env=None, **kwargs):
    """Run the grade command from the course root and wait for it."""
    return subprocess.run(
        grade_command(submissions, out, *flags),
        cwd=course, env=env or grader_env(), capture_output=True, text=True, **kwargs,
    )


def read_grades(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def read_result(out: Path, student_id: str) -> dict:
    return json.loads((out / "results" / f"{student_id}.json").read_text("utf-8"))


def write_student(folder: Path, student_id: str, notebook) -> None:
    """``notebook`` is a NotebookNode, or raw bytes for deliberately broken files."""
    path = folder / student_id / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)


def zip_folder(
    folder: Path, archive: Path, raw_members: dict[str, bytes], symlinks: dict[str, str]
) -> None:
    """Zip a submissions folder, then add members no honest folder could contain."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
        for name, data in raw_members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
        for name, target in symlinks.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK: a symlink member
            zf.writestr(info, target)
