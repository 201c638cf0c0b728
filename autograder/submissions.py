"""Finding and reading submissions without trusting anything about them.

Student ids become path components (results, feedback), so an id that could escape a folder
or hide itself is reported and never used as a path. Zips are unpacked member by member with
the same rule, with bounded sizes, and symlinks are refused. Notebooks are parsed with explicit
checks so that each way of being broken gets its own human-readable message.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 20 << 20
MAX_ZIP_MEMBER_BYTES = 50 << 20
MAX_ZIP_TOTAL_BYTES = 2 << 30
MAX_ZIP_MEMBERS = 20000
# Names as LMS exports and hubs spell them ("josé", "Smith, John_1234") are fine; what could
# act as a path or a flag is not: no "/", "\\", control characters, leading "." or "-", or
# edge spaces.
SAFE_ID = re.compile(r"[\w@+](?:[\w .,@+'-]{0,126}[\w.,@+'-])?")


@dataclass(frozen=True)
class Student:
    student_id: str
    folder: Path | None  # None when the id is unsafe (never used as a path)
    problem: str | None = None  # why this student cannot be graded at all


def is_safe_id(student_id: str) -> bool:
    return bool(SAFE_ID.fullmatch(student_id)) and student_id not in (".", "..")


def unsafe(student_id: str, why: str) -> Student:
    return Student(student_id, None, f"unsafe student id {student_id!r} ({why}); not graded")


def list_students(folder: Path) -> list[Student]:
    """One entry per folder inside ``folder`` (files at the top level are not students)."""
    students = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            students.append(unsafe(entry.name, "a symbolic link"))
        elif not entry.is_dir():
            continue
        elif not is_safe_id(entry.name):
            students.append(unsafe(entry.name, "hidden or not a plain name"))
        else:
            students.append(Student(entry.name, entry))
    return students


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or "\\" in name:
        return "an absolute path"
    if any(part in ("..", ".") for part in name.split("/")):
        return "a path that escapes its folder"
    if info.file_size > MAX_ZIP_MEMBER_BYTES:
        return f"larger than {MAX_ZIP_MEMBER_BYTES >> 20} MB"
    return None


def _zip_student_key(name: str) -> str:
    """The student a zip member belongs to: everything before its file name."""
    parts = name.rstrip("/").split("/")
    return "/".join(parts[:-1]) or parts[0]


def unpack_zip(archive: Path, target: Path) -> list[Student]:
    """Unpack safe members into ``target``; unsafe ones become error rows for their student."""
    problems: dict[str, str] = {}
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ValueError(f"{archive} has more than {MAX_ZIP_MEMBERS} entries")
        total = 0
        for info in members:
            problem = _zip_member_problem(info)
            top = info.filename.split("/")[0]
            if problem is None and not is_safe_id(top):
                problem = "hidden or not a plain name"
            if problem is not None:
                key = top if is_safe_id(top) else _zip_student_key(info.filename)
                problems.setdefault(key, problem)
                continue
            total += info.file_size
            if total > MAX_ZIP_TOTAL_BYTES:
                raise ValueError(f"{archive} unpacks to more than {MAX_ZIP_TOTAL_BYTES >> 30} GB")
            destination = target.joinpath(*info.filename.rstrip("/").split("/"))
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(destination, "wb") as sink:
                # file_size comes from the archive itself, so count what really comes out.
                copied = 0
                while chunk := source.read(1 << 20):
                    copied += len(chunk)
                    if copied > MAX_ZIP_MEMBER_BYTES:
                        raise ValueError(f"{info.filename} is larger than its header says")
                    sink.write(chunk)
    students = {s.student_id: s for s in list_students(target)} if target.exists() else {}
    for key, problem in problems.items():
        # A safe top folder with one bad member: that student is flagged, nothing else.
        students[key] = (
            unsafe(key, problem)
            if not is_safe_id(key)
            else Student(key, None, f"submission contains {problem}; not graded")
        )
    return [students[k] for k in sorted(students)]


def find_notebook(folder: Path, assignment: str, notebook: str) -> Path | None:
    """``<student>/<notebook>.ipynb``, or nbgrader's ``<student>/<assignment>/<notebook>.ipynb``."""
    for candidate in (folder / f"{notebook}.ipynb", folder / assignment / f"{notebook}.ipynb"):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return None


def read_timestamp(folder: Path, assignment: str) -> str | None:
    """The submission time ``nbgrader collect`` records (timestamp.txt), if there is one."""
    for candidate in (folder / assignment / "timestamp.txt", folder / "timestamp.txt"):
        if candidate.is_file() and not candidate.is_symlink() and candidate.stat().st_size < 200:
            text = candidate.read_text("utf-8", errors="replace").strip()
            return text or None
    return None


class InvalidNotebook(Exception):
    """The file is not a notebook we can grade; the message says why, for the student."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    if path.is_symlink() or not path.is_file():
        raise InvalidNotebook("notebook is not a regular file")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    raw = path.read_bytes()
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
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        version = data.get("nbformat") if isinstance(data, dict) else None
        raise InvalidNotebook(f"wrong nbformat {version!r}: expected a version 4 notebook")
    try:
        nb = nbformat.reads(text, as_version=4)  # also joins multi-line sources
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for malformed structure
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidNotebook(f"notebook does not follow nbformat 4: {first_line[:200]}") from None
    return nb
