"""Unpacking a class zip (an LMS download: ``<student>/<notebook>.ipynb``) member by member.

One student's bad member costs that student an ``error`` row and nothing more: every member's
path is checked before anything is written (links, absolute or escaping paths, names too long
for the file system, a path that is both a file and a folder, the same path twice), and only
the notebooks the grader reads are written, each after checking its declared size and
compression ratio and then streamed with a cap, within a budget for the whole archive. A
damaged member (bad CRC, truncated, encrypted, unknown compression) is caught while it is
unpacked. Submission times are the members' dates, which the LMS wrote; a ``timestamp.txt``
inside the zip is the student's own file and is never read.
"""

from __future__ import annotations

import io
import re
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from autograder.submissions import (
    MAX_NOTEBOOK_BYTES,
    Student,
    by_normalised_id,
    list_students,
    unsafe,
    utc_text,
)

MAX_ZIP_MEMBERS = 20000
MAX_NAME_BYTES = 255  # one path component, as ext4, xfs, btrfs and tmpfs allow
MAX_PATH_BYTES = 3000  # a member's whole path (PATH_MAX is 4096, with room for the target)
MAX_ZIP_TOTAL_BYTES = 2 << 30  # notebooks written for the whole class
# Notebooks (JSON, base64 images) compress a few times over; a member that declares over
# 1 MB and shrank by more than this is a zip bomb, and is refused unread.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECKED_FROM_BYTES = 1 << 20
EXTENDED_TIMESTAMP = 0x5455  # Info-ZIP's "UT" extra field: modification time in UTC
NO_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest DOS date: what tools write for "unknown"


class MemberProblem(Exception):
    """Why a student's members cannot be unpacked; becomes that student's error row."""


@dataclass
class _Folder:
    """One top-level folder of the zip (a student), with the members under it."""

    name: str  # as spelled in the zip
    members: list[tuple[tuple[str, ...], zipfile.ZipInfo]]  # path below the folder, member
    problem: str | None = None


def _path_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or "\\" in name:
        return "an absolute path"
    if any(part in ("..", ".") for part in name.split("/")):
        return "a path that escapes its folder"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in name.split("/")):
        return f"a name longer than {MAX_NAME_BYTES} bytes"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"a path longer than {MAX_PATH_BYTES} bytes"
    return None


def _error_key(name: str) -> str:
    """The row an unusable member is reported under: everything before its file name."""
    parts = name.rstrip("/").split("/")
    return "/".join(parts[:-1]) or parts[0]


def _layout_problem(folder: _Folder) -> str | None:
    """Paths no file system can hold at once: a file that is also a folder, a path twice."""
    files, folders = set(), set()
    for parts, info in folder.members:
        folders.update(parts[:depth] for depth in range(1, len(parts)))
        if info.is_dir():
            folders.add(parts)
        elif parts in files:
            return f"the path {'/'.join(parts)!r} twice"
        else:
            files.add(parts)
    both = sorted(files & folders)
    if both:
        return f"{'/'.join(both[0])!r} as both a file and a folder"
    return None


def _group_by_folder(members: list[zipfile.ZipInfo]) -> tuple[dict[str, _Folder], list[Student]]:
    """Members under each top-level folder; members that belong to no folder (absolute or
    escaping paths, bad loose files at the top) as error rows of their own."""
    folders: dict[str, _Folder] = {}
    refused: dict[str, Student] = {}
    for info in members:
        parts = [part for part in info.filename.split("/") if part]
        problem = _path_problem(info)
        if not parts or parts[0] in (".", "..") or problem == "an absolute path":
            key = _error_key(info.filename)
            refused.setdefault(key, unsafe(key, problem or "a path that escapes its folder"))
            continue
        top, below = parts[0], tuple(parts[1:])
        if not below and not info.is_dir():
            if problem is not None:  # a loose file at the top is no student, unless it is bad
                refused.setdefault(top, unsafe(top, problem))
            continue
        folder = folders.setdefault(top, _Folder(top, []))
        if problem is not None and folder.problem is None:
            folder.problem = f"a member that is {problem}"
        folder.members.append((below, info))
    return folders, list(refused.values())


def _extended_timestamp(extra: bytes) -> int | None:
    """Unix time of Info-ZIP's UT extra field, if the member has one with a modification time."""
    offset = 0
    while offset + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, offset)
        data = extra[offset + 4 : offset + 4 + size]
        if kind == EXTENDED_TIMESTAMP and len(data) >= 5 and data[0] & 1:
            return struct.unpack_from("<I", data, 1)[0]
        offset += 4 + size
    return None


def member_time(info: zipfile.ZipInfo) -> datetime | None:
    """When the LMS stored the member: the UT field's UTC time, else the DOS date, read as UTC
    like every zone-less time in nbgrader (due dates included)."""
    unix = _extended_timestamp(info.extra)
    try:
        if unix is not None:
            return datetime.fromtimestamp(unix, UTC)
        if tuple(info.date_time) <= NO_DATE:
            return None
        return datetime(*info.date_time, tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _check_before_writing(info: zipfile.ZipInfo, budget: int) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise MemberProblem(f"{name} is encrypted")
    if info.file_size > MAX_NOTEBOOK_BYTES:
        raise MemberProblem(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECKED_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
        raise MemberProblem(
            f"{name} is compressed {ratio:.0f}:1, more than {MAX_COMPRESSION_RATIO}:1 (a zip bomb?)"
        )
    if info.file_size > budget:
        raise MemberProblem(
            f"{name} not unpacked: the class zip holds more than "
            f"{MAX_ZIP_TOTAL_BYTES >> 20} MB of notebooks"
        )


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path) -> int:
    """Stream one member to ``destination``, never more than its declared size."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    copied = 0
    try:
        with zf.open(info) as source, open(destination, "xb") as sink:
            while chunk := source.read(1 << 20):
                copied += len(chunk)
                if copied > info.file_size:
                    raise MemberProblem(f"{info.filename} is larger than its header says")
                sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise MemberProblem(f"{info.filename} cannot be unpacked ({exc})") from None
    except RuntimeError as exc:  # what zipfile raises for a member it cannot decrypt
        raise MemberProblem(f"{info.filename} cannot be unpacked ({exc})") from None
    if copied != info.file_size:  # a damaged stream can end early without a CRC error
        raise MemberProblem(
            f"{info.filename} cannot be unpacked (damaged: {copied} of {info.file_size} bytes)"
        )
    return copied


def _unpack_folder(
    zf: zipfile.ZipFile, folder: _Folder, target: Path, wanted: set[tuple[str, ...]], budget: int
) -> tuple[int, datetime | None]:
    """Write the notebooks the grader reads; return the bytes written and the newest date."""
    target.mkdir(parents=True)
    written, newest = 0, None
    for parts, info in folder.members:
        if info.is_dir() or parts not in wanted:
            continue
        _check_before_writing(info, budget - written)
        written += _write_member(zf, info, target.joinpath(*parts))
        when = member_time(info)
        newest = when if newest is None or (when is not None and when > newest) else newest
    return written, newest


class _PatchedFile(io.RawIOBase):
    """A read-only view of a file with a few bytes replaced."""

    def __init__(self, fh, patches: dict[int, int]):
        self.fh, self.patches = fh, patches

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def readinto(self, buffer) -> int:
        start = self.fh.tell()
        data = self.fh.read(len(buffer))
        buffer[: len(data)] = data
        for offset, value in self.patches.items():
            if start <= offset < start + len(data):
                buffer[offset - start] = value
        return len(data)


def _central_directory(fh) -> tuple[int, int]:
    """Offset and entry count of the central directory (zip64 and prepended data included)."""
    size = fh.seek(0, 2)
    tail_start = max(0, size - (22 + 0xFFFF))
    fh.seek(tail_start)
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0:
        raise zipfile.BadZipFile("no end of central directory")
    count, cd_size, cd_offset = struct.unpack_from("<10xH2L", tail, at)
    end = tail_start + at
    if cd_offset == 0xFFFFFFFF or count == 0xFFFF:  # zip64: its own end record says
        fh.seek(end - 20)
        (zip64_end,) = struct.unpack("<8xQ4x", fh.read(20))
        fh.seek(zip64_end)
        count, cd_size, cd_offset = struct.unpack("<32xQQQ", fh.read(56))
        end = zip64_end
    return end - cd_size, count


def _false_utf8_flags(fh) -> dict[int, int]:
    """Patches clearing the UTF-8 flag of each member name that is not UTF-8."""
    offset, count = _central_directory(fh)
    patches = {}
    for _ in range(count):
        fh.seek(offset)
        entry = fh.read(46)
        if len(entry) < 46 or entry[:4] != b"PK\x01\x02":
            raise zipfile.BadZipFile("bad central directory")
        flags, name_length, extra_length, comment_length = struct.unpack_from("<8xH18xHHH", entry)
        name = fh.read(name_length)
        if flags & 0x800:
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                patches[offset + 9] = entry[9] & ~0x08  # bit 11 of the little-endian flags
        offset += 46 + name_length + extra_length + comment_length
    return patches


def _open_zip(fh) -> zipfile.ZipFile:
    """The class zip. A member name flagged UTF-8 that is not makes zipfile refuse the whole
    archive; such names are read as zip's other encoding (cp437) instead, so that the member
    is its own student's problem (an unsafe name) and not everyone's."""
    try:
        return zipfile.ZipFile(fh)
    except UnicodeDecodeError:
        return zipfile.ZipFile(io.BufferedReader(_PatchedFile(fh, _false_utf8_flags(fh))))


def unpack_zip(
    archive: Path, target: Path, assignment: str, notebooks: tuple[str, ...]
) -> list[Student]:
    """Unpack each student's notebooks (``<student>/<nb>.ipynb`` or nbgrader's
    ``<student>/<assignment>/<nb>.ipynb``) into ``target``; anything wrong with a student's
    members becomes that student's error row."""
    wanted = {(f"{nb}.ipynb",) for nb in notebooks} | {
        (assignment, f"{nb}.ipynb") for nb in notebooks
    }
    with open(archive, "rb") as fh, _open_zip(fh) as zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ValueError(f"{archive} has more than {MAX_ZIP_MEMBERS} entries")
        folders, students = _group_by_folder(members)
        unique, refused = by_normalised_id(list(folders))
        students += refused
        budget, times = MAX_ZIP_TOTAL_BYTES, {}
        target.mkdir(parents=True, exist_ok=True)
        for student_id, name in unique.items():
            folder = folders[name]
            try:
                problem = folder.problem or _layout_problem(folder)
                if problem is not None:
                    raise MemberProblem(problem)
                written, times[student_id] = _unpack_folder(
                    zf, folder, target / student_id, wanted, budget
                )
                budget -= written
            except MemberProblem as exc:
                shutil.rmtree(target / student_id, ignore_errors=True)
                students.append(Student(name, None, f"submission contains {exc}; not graded"))
    for student in list_students(target):
        students.append(replace(student, submitted_at=_utc(times.get(student.student_id))))
    return sorted(students, key=lambda s: s.student_id)


def _utc(when: datetime | None) -> str | None:
    return utc_text(when) if when else None
