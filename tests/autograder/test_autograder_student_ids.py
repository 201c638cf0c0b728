"""Which folder names are graded as student ids, and which are refused as unsafe; how folders
become students (Unicode NFC, clashes, symbolic links, nbgrader collect's timestamps)."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from autograder.submissions import (
    SymlinkInSubmission,
    find_notebook,
    is_safe_id,
    list_students,
    normalised_id,
)

ASSIGNMENT = NOTEBOOK = "transposed_conv"


@pytest.mark.parametrize(
    "student_id",
    [
        "alice",
        "jdoe42",
        "josé",
        "Smith, John_1234",
        "john smith",
        "o'brien",
        "a.b@uni.edu",
        "李雷",
        "x-1+2",
        "अनिल",
        "مهر\u200cناز",
        "Nguyễn Văn A",
        "@alice",
        "+4912345",
        unicodedata.normalize("NFD", "José"),
        "ü" * 100,
    ],
)
def test_names_as_lms_and_hubs_spell_them_are_graded(student_id):
    assert is_safe_id(student_id)


@pytest.mark.parametrize(
    "student_id",
    [
        "",
        ".",
        "..",
        "../x",
        "a/b",
        "a\\b",
        ".hidden",
        "-rf",
        " alice",
        "alice ",
        "tab\there",
        "nul\0",
        "new\nline",
        "x" * 129,
        "=cmd",
        "evil\u202egnp",
        "\u0301accent first",
        "bad\udcff",
        "李" * 67,
        "x\u200d",
    ],
)
def test_names_that_could_act_as_a_path_or_a_flag_are_refused(student_id):
    assert not is_safe_id(student_id)


def _folders(root: Path, *names: str | bytes) -> Path:
    for name in names:
        os.makedirs(os.path.join(os.fsencode(root), os.fsencode(name)))
    return root


def test_an_nfd_folder_is_the_nfc_student(tmp_path: Path):
    nfd = unicodedata.normalize("NFD", "José")
    [student] = list_students(_folders(tmp_path, nfd))
    assert student.student_id == "José" == normalised_id(nfd)
    assert student.folder == tmp_path / nfd and student.problem is None


def test_folders_that_are_one_id_in_nfc_are_both_refused(tmp_path: Path):
    nfc, nfd = "Zoë", unicodedata.normalize("NFD", "Zoë")
    students = list_students(_folders(tmp_path, nfc, nfd, "alice"))
    rows = {s.student_id: s for s in students}
    assert sorted(rows) == sorted([nfc, nfd, "alice"])
    for name in (nfc, nfd):
        assert rows[name].folder is None
        assert ascii(nfc) in rows[name].problem and ascii(nfd) in rows[name].problem


def test_undecodable_and_linked_folders_are_error_rows(tmp_path: Path):
    _folders(tmp_path, b"bad\xff")
    (tmp_path / "linked").symlink_to(tmp_path / "bad\udcff")
    rows = {s.student_id: s for s in list_students(tmp_path)}
    assert "unsafe student id" in rows["bad\udcff"].problem
    assert "symbolic link" in rows["linked"].problem


def test_no_symbolic_link_is_followed_at_any_depth(tmp_path: Path):
    solutions = tmp_path / "course" / "solutions" / ASSIGNMENT
    solutions.mkdir(parents=True)
    (solutions / f"{NOTEBOOK}.ipynb").write_text("{}")
    student = tmp_path / "submitted" / "mallory"
    student.mkdir(parents=True)
    (student / ASSIGNMENT).symlink_to(solutions)
    with pytest.raises(SymlinkInSubmission, match=ASSIGNMENT):
        find_notebook(student, ASSIGNMENT, NOTEBOOK)
    (student / ASSIGNMENT).unlink()
    (student / ASSIGNMENT).mkdir()
    (student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").symlink_to(solutions / f"{NOTEBOOK}.ipynb")
    with pytest.raises(SymlinkInSubmission, match=f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"):
        find_notebook(student, ASSIGNMENT, NOTEBOOK)


def test_times_come_from_nbgrader_collect_never_from_the_student(tmp_path: Path):
    collected = tmp_path / "collected" / ASSIGNMENT
    collected.mkdir(parents=True)
    (collected / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    own = tmp_path / "lms_student"
    own.mkdir()
    (own / "timestamp.txt").write_text("2000-01-01 00:00:00 UTC")
    garbled = tmp_path / "garbled" / ASSIGNMENT
    garbled.mkdir(parents=True)
    (garbled / "timestamp.txt").write_text("yesterday-ish")
    rows = {s.student_id: s for s in list_students(tmp_path, ASSIGNMENT)}
    assert rows["collected"].submitted_at == "2026-11-20 10:00:00 UTC"
    assert rows["lms_student"].submitted_at is None
    assert rows["garbled"].submitted_at is None
