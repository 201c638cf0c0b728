"""Unpacking a class zip: each bad member costs its own student an error row (and writes
nothing of theirs), everyone else is unpacked, nothing but notebooks is written, and times
come from the members' dates, never from a student's timestamp.txt."""

from __future__ import annotations

import os
import struct
import unicodedata
import warnings
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autograder import class_zip
from autograder.class_zip import unpack_zip

ASSIGNMENT, NOTEBOOK = "transposed_conv", "transposed_conv"
NB = f"{NOTEBOOK}.ipynb"
NOTEBOOK_BYTES = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
LATE = (2026, 11, 20, 10, 0, 0)


def _member(name: str, date=LATE, **attributes) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date)
    info.compress_type = zipfile.ZIP_DEFLATED
    for key, value in attributes.items():
        setattr(info, key, value)
    return info


def _write(archive: Path, members: list[tuple[zipfile.ZipInfo, bytes]]) -> None:
    with warnings.catch_warnings():  # a duplicate name is what some tests want
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(archive, "w") as zf:
            for info, data in members:
                zf.writestr(info, data)


def _central_entry(data: bytearray, name: str) -> int:
    """Offset of a member's central directory entry."""
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    return entry


def _mark_encrypted(archive: Path, name: str) -> None:
    """Set the 'encrypted' flag of a member's central directory entry (zipfile cannot write
    an encrypted member, and reads the flag from there)."""
    data = bytearray(archive.read_bytes())
    entry = _central_entry(data, name)
    data[entry + 8] |= 0x01
    archive.write_bytes(bytes(data))


def _flip_byte_of(archive: Path, needle: bytes) -> None:
    """Damage one member's compressed data (its CRC no longer matches)."""
    data = bytearray(archive.read_bytes())
    data[data.index(needle)] ^= 0x01
    archive.write_bytes(bytes(data))


def _unpack(tmp_path: Path, members) -> tuple[dict, Path]:
    archive, target = tmp_path / "class.zip", tmp_path / "unpacked"
    _write(archive, members)
    return {s.student_id: s for s in unpack_zip(archive, target, ASSIGNMENT, (NOTEBOOK,))}, target


def _written(target: Path) -> dict[str, int]:
    return {str(p.relative_to(target)): p.stat().st_size for p in target.rglob("*") if p.is_file()}


def test_each_bad_member_costs_only_its_student(tmp_path: Path):
    zeros = bytes(8 << 20)  # compresses about 1000:1
    members = [
        (_member(f"alice/{NB}"), NOTEBOOK_BYTES),
        (_member(f"both/{NB}"), NOTEBOOK_BYTES),
        (_member(f"both/{NB}/notes.txt"), b"a folder named like the notebook"),
        (_member("twice/" + NB), NOTEBOOK_BYTES),
        (_member("twice/" + NB), b"{}"),
        (_member("long_name/" + "x" * 300 + ".txt"), b"name too long for any file system"),
        (_member(f"bomb/{NB}"), zeros),
        (_member(f"crc/{NB}", compress_type=zipfile.ZIP_STORED), b"DAMAGED" + NOTEBOOK_BYTES),
        (_member(f"locked/{NB}"), NOTEBOOK_BYTES),
        (_member(f"zed/{NB}"), NOTEBOOK_BYTES),
    ]
    archive, target = tmp_path / "class.zip", tmp_path / "unpacked"
    _write(archive, members)
    _flip_byte_of(archive, b"DAMAGED")
    _mark_encrypted(archive, f"locked/{NB}")
    students = {s.student_id: s for s in unpack_zip(archive, target, ASSIGNMENT, (NOTEBOOK,))}
    expected_problems = {
        "both": "as both a file and a folder",
        "twice": "twice",
        "long_name": "longer than 255 bytes",
        "bomb": "a zip bomb",
        "crc": "Bad CRC-32",
        "locked": "encrypted",
    }
    assert sorted(students) == sorted([*expected_problems, "alice", "zed"])
    for student_id, why in expected_problems.items():
        student = students[student_id]
        assert student.folder is None and why in student.problem, student
    for student_id in ("alice", "zed"):
        assert students[student_id].problem is None
        assert (students[student_id].folder / NB).read_bytes() == NOTEBOOK_BYTES
    # Only the good students' notebooks were written; nothing of the bomb, nothing partial.
    assert _written(target) == {
        f"alice/{NB}": len(NOTEBOOK_BYTES),
        f"zed/{NB}": len(NOTEBOOK_BYTES),
    }


def test_a_declared_size_over_the_notebook_limit_is_refused_unread(tmp_path: Path):
    big = os.urandom((20 << 20) + 1)  # incompressible: no ratio alarm, only the size
    stored = _member(f"big/{NB}", compress_type=zipfile.ZIP_STORED)
    students, target = _unpack(tmp_path, [(stored, big)])
    assert "larger than 20 MB" in students["big"].problem
    assert _written(target) == {}


def test_the_archive_budget_stops_unpacking_not_the_batch(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(class_zip, "MAX_ZIP_TOTAL_BYTES", 2 * len(NOTEBOOK_BYTES))
    names = ["s1", "s2", "s3"]
    students, target = _unpack(tmp_path, [(_member(f"{n}/{NB}"), NOTEBOOK_BYTES) for n in names])
    assert [students[n].problem is None for n in names] == [True, True, False]
    assert "MB of notebooks" in students["s3"].problem
    assert len(_written(target)) == 2


def test_only_notebooks_are_written(tmp_path: Path):
    students, target = _unpack(
        tmp_path,
        [
            (_member(f"alice/{ASSIGNMENT}/{NB}"), NOTEBOOK_BYTES),  # nbgrader's layout
            (_member(f"alice/{ASSIGNMENT}/timestamp.txt"), b"2000-01-01 00:00:00 UTC"),
            (_member("alice/data.bin"), os.urandom(4096)),
            (_member("bob/notes.txt"), b"forgot the notebook"),
            (_member("readme.txt"), b"a loose file at the top is nobody"),
        ],
    )
    assert sorted(students) == ["alice", "bob"]
    assert _written(target) == {f"alice/{ASSIGNMENT}/{NB}": len(NOTEBOOK_BYTES)}
    assert students["bob"].folder.is_dir() and students["bob"].problem is None


def _ut_field(unix: int) -> bytes:
    """Info-ZIP's extended timestamp extra field with a modification time."""
    return struct.pack("<HHB", 0x5455, 5, 1) + struct.pack("<I", unix)


def test_times_are_the_members_dates_never_timestamp_txt(tmp_path: Path):
    utc = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    students, _ = _unpack(
        tmp_path,
        [
            (_member(f"dated/{NB}"), NOTEBOOK_BYTES),
            (_member("dated/timestamp.txt"), b"2000-01-01 00:00:00 UTC"),
            (_member(f"ut/{NB}", extra=_ut_field(int(utc.timestamp()))), NOTEBOOK_BYTES),
            (_member(f"undated/{NB}", date=(1980, 1, 1, 0, 0, 0)), NOTEBOOK_BYTES),
            (_member("nothing/notes.txt"), b""),
        ],
    )
    assert students["dated"].submitted_at == "2026-11-20 10:00:00 UTC"
    assert students["ut"].submitted_at == "2026-11-21 08:30:00 UTC"
    assert students["undated"].submitted_at is None
    assert students["nothing"].submitted_at is None


def test_nfd_names_are_graded_under_their_nfc_id_and_clashes_under_neither(tmp_path: Path):
    nfc, nfd = "José", unicodedata.normalize("NFD", "José")
    zoe_nfc, zoe_nfd = "Zoë", unicodedata.normalize("NFD", "Zoë")
    students, target = _unpack(
        tmp_path,
        [
            (_member(f"{nfd}/{NB}"), NOTEBOOK_BYTES),
            (_member(f"{zoe_nfc}/{NB}"), NOTEBOOK_BYTES),
            (_member(f"{zoe_nfd}/{NB}"), NOTEBOOK_BYTES),
        ],
    )
    assert students[nfc].problem is None and students[nfc].folder == target / nfc
    assert nfd not in students
    for name in (zoe_nfc, zoe_nfd):
        assert students[name].folder is None
        assert "same student id" in students[name].problem
        assert ascii(zoe_nfc) in students[name].problem and ascii(zoe_nfd) in students[name].problem
    assert _written(target) == {f"{nfc}/{NB}": len(NOTEBOOK_BYTES)}


def test_members_of_unsafe_paths_are_rows_of_their_own(tmp_path: Path):
    students, target = _unpack(
        tmp_path,
        [
            (_member(f"../x/{NB}"), b"{}"),
            (_member(f"/abs/{NB}"), b"{}"),
            (_member(f"ok/../../slipped/{NB}"), b"{}"),
            (_member(f".hidden/{NB}"), b"{}"),
            (_member(f"fine/{NB}"), NOTEBOOK_BYTES),
        ],
    )
    assert "escapes its folder" in students["../x"].problem
    assert "absolute path" in students["/abs"].problem
    assert "escapes its folder" in students["ok"].problem
    assert "unsafe student id" in students[".hidden"].problem
    assert students["fine"].problem is None
    assert _written(target) == {f"fine/{NB}": len(NOTEBOOK_BYTES)}
    assert not list(tmp_path.rglob("slipped"))


@pytest.mark.parametrize("declared", [(1 << 20) + 1, 4 << 20])
def test_compression_ratio_is_checked_before_writing(tmp_path: Path, declared: int):
    data = b"0" * declared
    ratio = declared / len(zlib.compress(data))
    assert ratio > class_zip.MAX_COMPRESSION_RATIO
    students, target = _unpack(tmp_path, [(_member(f"s/{NB}"), data)])
    assert "a zip bomb" in students["s"].problem and _written(target) == {}


def test_a_member_shorter_than_its_header_is_refused(tmp_path: Path):
    """A header that promises more bytes than the member holds (its CRC still matching what
    is there): the student's notebook would be silently cut short."""
    archive, target = tmp_path / "class.zip", tmp_path / "unpacked"
    name = f"short/{NB}"
    _write(archive, [(_member(name, compress_type=zipfile.ZIP_STORED), NOTEBOOK_BYTES)])
    data = bytearray(archive.read_bytes())
    entry = _central_entry(data, name)
    data[entry + 24 : entry + 28] = (len(NOTEBOOK_BYTES) + 10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    [student] = unpack_zip(archive, target, ASSIGNMENT, (NOTEBOOK,))
    assert "damaged" in student.problem and _written(target) == {}


def test_a_name_falsely_flagged_utf8_is_its_students_problem_only(tmp_path: Path):
    """zipfile refuses a whole archive over one such name; here it costs that student alone."""
    archive, target = tmp_path / "class.zip", tmp_path / "unpacked"
    _write(archive, [(_member(f"{n}/{NB}"), NOTEBOOK_BYTES) for n in ("badé", "café", "zed")])
    archive.write_bytes(archive.read_bytes().replace("badé".encode(), b"bad\xff\xfe"))
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(archive)
    students = unpack_zip(archive, target, ASSIGNMENT, (NOTEBOOK,))
    graded = sorted(s.student_id for s in students if s.problem is None)
    [refused] = [s for s in students if s.problem is not None]
    assert graded == ["café", "zed"] and "unsafe student id" in refused.problem
    assert _written(target) == {f"café/{NB}": len(NOTEBOOK_BYTES), f"zed/{NB}": len(NOTEBOOK_BYTES)}
