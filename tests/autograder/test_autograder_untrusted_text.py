"""What a submission can put into the grader's files is stored safely: lone surrogates and NUL
never stop a write, sizes are bounded, and no grades.csv cell is a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from autograder.results import StudentResult, combine, save_result, write_grades_csv
from autograder.untrusted import MAX_TEXT, clean_text, spreadsheet_cell


def test_unwritable_characters_become_replacement_characters():
    text = clean_text("a\udcffb\x00c\ud800\x1bd\te\nf")
    assert text == "a\ufffdb\ufffdc\ufffd\ufffdd\te\nf"
    text.encode("utf-8")  # would raise for a lone surrogate


def test_text_is_bounded():
    text = clean_text("x" * (10 * MAX_TEXT))
    assert len(text) < MAX_TEXT + 50 and text.endswith(f"[{9 * MAX_TEXT} more characters]")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"])
def test_cells_that_start_like_a_formula_are_text(start):
    assert spreadsheet_cell(f'{start}HYPERLINK("http://x")') == f'\'{start}HYPERLINK("http://x")'


@pytest.mark.parametrize("text", ["alice", "Smith, John", "3 tests failed", "'quoted"])
def test_other_cells_are_unchanged(text):
    assert spreadsheet_cell(text) == text


def _result(student_id: str, message: str) -> StudentResult:
    return StudentResult(student_id, "hw", 1.0, 2.0, "graded", message)


def test_grades_csv_is_written_and_read_back_as_one_cell_per_field(tmp_path: Path):
    results = [
        _result("+4912345", "=1+1"),
        _result("@alice", 'ok;=HYPERLINK("http://evil");x'),
        _result("bad\udcff", "raised ValueError: \udcff\x00"),
        _result("Smith, John", "-2"),
    ]
    write_grades_csv(tmp_path, results)
    raw = (tmp_path / "grades.csv").read_bytes().decode("utf-8")
    lines = raw.splitlines()
    assert all(line.startswith('"') and line.endswith('"') for line in lines), raw
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert [r["student_id"] for r in rows] == ["'+4912345", "'@alice", "Smith, John", "bad\ufffd"]
    by_id = {r["student_id"]: r for r in rows}
    assert by_id["'+4912345"]["message"] == "'=1+1"
    assert by_id["Smith, John"]["message"] == "'-2"
    assert by_id["bad\ufffd"]["message"] == "raised ValueError: \ufffd\ufffd"
    for row in rows:
        assert len(row) == 6 and None not in row


def test_a_result_full_of_surrogates_and_floods_is_saved_bounded(tmp_path: Path):
    flood = "\udcff" + "y" * 100_000
    notebook = {
        "notebook": "nb",
        "status": "graded",
        "message": flood,
        "score": 0.0,
        "max_score": 1.0,
        "cells": [{"grade_id": "t", "points": 1.0, "score": 0.0, "message": flood}],
        "cell_errors": [flood] * 3,
        "notes": [],
    }
    result = combine("alice", "hw", 1.0, [notebook])
    save_result(tmp_path, result)
    saved = (tmp_path / "results" / "alice.json").read_text("utf-8")
    assert "\\udcff" not in saved and len(saved) < 10 * MAX_TEXT
    assert json.loads(saved)["notebooks"][0]["cell_errors"][0].startswith("\ufffdyyy")
