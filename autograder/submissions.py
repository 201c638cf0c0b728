"""Finding and reading submissions without trusting anything about them.

Student ids become path components (results, feedback), so an id that could escape a folder
or hide itself is reported and never used as a path. Ids are compared in Unicode NFC, the form
most systems write (macOS writes NFD: ``José`` unzipped there is ``Jose`` + U+0301). Nothing is
read through a symbolic link, at any depth, so a submission cannot point the grader at the
course's own files. Notebooks are parsed with explicit checks so that each way of being broken
gets its own human-readable message.
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from autograder.untrusted import without_surrogates

MAX_NOTEBOOK_BYTES = 20 << 20
MAX_ID_CHARACTERS = 128
# An id is a file name (results/<id>.json, and its temporary .<id>.json.tmp<pid>): it must
# fit the 255 bytes most file systems allow for one name.
MAX_ID_BYTES = 200
# Names as LMS exports and hubs spell them ("josé", "Smith, John_1234", "अनिल") are fine; what
# could act as a path or a flag is not: no "/", "\\", control characters, leading "." or "-",
# or edge spaces.
ID_PUNCTUATION = " .,@+'-_"
ZERO_WIDTH_JOINERS = "\u200c\u200d"  # part of Persian and Indic names
MAX_TIMESTAMP_BYTES = 200
# A notebook's JSON nests a few levels (notebook, cells, a cell, its metadata; widget state a few
# more). Deeper nesting is refused before recursive code walks it (the JSON parser, nbformat's
# validator, copies of cells): a nesting bomb costs its student a status, never a grader error.
MAX_JSON_DEPTH = 64
# A JSON escape of a lone surrogate ("\udcff"): only then is a notebook's text walked to
# replace them.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class Student:
    student_id: str
    folder: Path | None  # None when the id is unsafe (never used as a path)
    problem: str | None = None  # why this student cannot be graded at all
    submitted_at: str | None = None  # UTC time from the instructor's tools, or None


def normalised_id(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _letter_digit_or_mark(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


def is_safe_id(student_id: str) -> bool:
    """Letters, digits and combining marks of any script, with ``ID_PUNCTUATION`` inside; it
    starts with a letter, digit, ``_``, ``@`` or ``+`` and does not end with a space."""
    if not student_id or len(student_id) > MAX_ID_CHARACTERS:
        return False
    if len(student_id.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        return False
    first, last = student_id[0], student_id[-1]
    if not (first.isalnum() or first in "_@+") or last == " " or last in ZERO_WIDTH_JOINERS:
        return False
    return all(
        _letter_digit_or_mark(c) or c in ID_PUNCTUATION or c in ZERO_WIDTH_JOINERS
        for c in student_id
    )


def unsafe(student_id: str, why: str) -> Student:
    return Student(student_id, None, f"unsafe student id {student_id!r} ({why}); not graded")


def by_normalised_id(names: list[str]) -> tuple[dict[str, str], list[Student]]:
    """Safe folder names keyed by their NFC id, and an error row for every other name: unsafe,
    or one of several names that are the same id once normalised (graded as neither: which
    one is the student's is not for the grader to guess)."""
    groups: dict[str, list[str]] = {}
    refused = []
    for name in names:
        student_id = normalised_id(name)
        if is_safe_id(student_id):
            groups.setdefault(student_id, []).append(name)
        else:
            refused.append(unsafe(name, "hidden or not a plain name"))
    unique = {}
    for student_id, group in groups.items():
        if len(group) == 1:
            unique[student_id] = group[0]
            continue
        spelled = " and ".join(ascii(name) for name in sorted(group))
        for name in group:
            message = (
                f"folders {spelled} are the same student id {student_id!r} in Unicode NFC; "
                "neither is graded: keep one folder and grade again"
            )
            refused.append(Student(name, None, message))
    return unique, refused


def symlink_on_the_way(folder: Path, parts: tuple[str, ...]) -> str | None:
    """The first of ``folder/parts[0]``, ``folder/parts[0]/parts[1]``, ... that is a symbolic
    link (as a path relative to ``folder``), or None. Stops at the first that does not exist."""
    for depth in range(1, len(parts) + 1):
        path = folder.joinpath(*parts[:depth])
        if path.is_symlink():
            return "/".join(parts[:depth])
        if not path.exists():
            return None
    return None


def utc_text(when) -> str:
    """A time (datetime or nbgrader's timestamp text) as nbgrader writes it: UTC, said so."""
    return f"{parse_utc(when).isoformat(sep=' ')} UTC"


def nbgrader_timestamp(folder: Path, assignment: str) -> str | None:
    """The submission time ``nbgrader collect`` wrote to ``<student>/<assignment>/timestamp.txt``
    (the nbgrader layout), as nbgrader autograde reads it; None if absent or unreadable. A
    ``timestamp.txt`` next to the notebook in the LMS layout is the student's own file and is
    never read."""
    parts = (assignment, "timestamp.txt")
    path = folder.joinpath(*parts)
    if symlink_on_the_way(folder, parts) or not path.is_file():
        return None
    if path.stat().st_size > MAX_TIMESTAMP_BYTES:
        return None
    try:
        return utc_text(path.read_text("utf-8").strip())
    except (ValueError, OverflowError, TypeError, UnicodeDecodeError):
        return None


def list_students(folder: Path, assignment: str | None = None) -> list[Student]:
    """One entry per folder inside ``folder`` (files at the top level are not students). With
    ``assignment``, each student's time is nbgrader collect's timestamp, if there is one."""
    students, names = [], []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            students.append(unsafe(entry.name, "a symbolic link"))
        elif entry.is_dir():
            names.append(entry.name)
    unique, refused = by_normalised_id(names)
    for student_id, name in unique.items():
        when = nbgrader_timestamp(folder / name, assignment) if assignment else None
        students.append(Student(student_id, folder / name, submitted_at=when))
    return sorted(students + refused, key=lambda s: s.student_id)


class SymlinkInSubmission(Exception):
    """A path the grader would read goes through a symbolic link; the message names it."""


def find_notebook(folder: Path, assignment: str, notebook: str) -> Path | None:
    """``<student>/<notebook>.ipynb``, or nbgrader's ``<student>/<assignment>/<notebook>.ipynb``.
    Raises SymlinkInSubmission rather than follow a link anywhere on the way."""
    for parts in ((f"{notebook}.ipynb",), (assignment, f"{notebook}.ipynb")):
        link = symlink_on_the_way(folder, parts)
        if link is not None:
            raise SymlinkInSubmission(
                f"{link} is a symbolic link (the grader never follows one); not graded"
            )
        if folder.joinpath(*parts).exists():
            return folder.joinpath(*parts)
    return None


class InvalidNotebook(Exception):
    """The file is not a notebook we can grade; the message says why, for the student."""


def _read_regular_file(path: Path) -> bytes:
    """The file's bytes, refusing a symbolic link even if one appeared since it was checked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise InvalidNotebook(f"notebook cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidNotebook("notebook is not a regular file")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise InvalidNotebook(f"notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        return fh.read(MAX_NOTEBOOK_BYTES + 1)


def json_depth(data) -> int:
    """How deeply lists and objects nest in ``data`` (1 for a flat one), found without recursion;
    counting stops once past MAX_JSON_DEPTH."""
    deepest, todo = 0, [(data, 1)]
    while todo and deepest <= MAX_JSON_DEPTH:
        value, depth = todo.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            todo += [(child, depth + 1) for child in children]
    return deepest


def cell_grade_id(cell) -> str | None:
    """A cell's nbgrader grade_id, or None unless its metadata holds one as a string: a student
    can put a list, a number or an object in its place, and that names no cell."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return parse_notebook(read_notebook_bytes(path))


def read_notebook_bytes(path: Path) -> bytes:
    """A notebook file's bytes, read with every check a file on disk needs (never through a
    symbolic link, only a regular file, bounded size). What they hold is checked by
    :func:`parse_notebook`, wherever the submission is graded."""
    if path.is_symlink() or not path.is_file():
        raise InvalidNotebook("notebook is not a regular file")
    return _read_regular_file(path)


def parse_notebook(raw: bytes) -> nbformat.NotebookNode:
    """A valid nbformat 4 notebook from a file's bytes, or InvalidNotebook saying why."""
    if len(raw) > MAX_NOTEBOOK_BYTES:  # it grew after fstat
        raise InvalidNotebook(f"notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotebook(
            f"notebook is not valid UTF-8 (byte {raw[exc.start]:#x} at offset {exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(
            f"notebook is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:  # nested deeper than the parser's own recursion allows
        data = None
    if data is None or json_depth(data) > MAX_JSON_DEPTH:
        raise InvalidNotebook(f"notebook nests JSON more than {MAX_JSON_DEPTH} levels deep")
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        version = data.get("nbformat") if isinstance(data, dict) else None
        raise InvalidNotebook(f"wrong nbformat {version!r}: expected a version 4 notebook")
    if _SURROGATE_ESCAPE.search(text):
        # Valid JSON, but no UTF-8 file (the autograded notebook) could hold its strings.
        text = json.dumps(without_surrogates(data))
    try:
        nb = nbformat.reads(text, as_version=4)  # also joins multi-line sources
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for malformed structure
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidNotebook(f"notebook does not follow nbformat 4: {first_line[:200]}") from None
    return nb
