"""Student code can write anything to the runner's answer pipe, or tamper with what the runner
sends. Whatever arrives, the grader must treat it as that submission's crash (status `crashed`,
the cell being checked scores 0, the rest is graded), never as its own fault (status `error`,
every point lost)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from grading_helpers import grade, read_grades, write_student

from testkit.mutants import EXPECTED_SCORES, make_submission, points_of

pytestmark = pytest.mark.slow

FULL = EXPECTED_SCORES[None]
CONV1D_MATRIX_POINTS = points_of(["conv1d_matrix"])

# A frame written straight to the judge while conv1d_matrix is being checked.
FORGED_FRAME = '''
import json, os, struct, sys, time
def conv1d_matrix(weight, n, stride=1, padding=0):
    head = json.dumps({{"event": "result", "ok": True, "arrays": [{spec}]}}).encode()
    os.write(sys.modules["__main__"].RESPONSE_FD, struct.pack(">I", len(head)) + head + bytes(8))
    time.sleep(60)
'''
FORGED_ARRAYS = {
    "dimension_too_big": '["<f8", [2**70], 8]',  # OverflowError in the judge
    "dtype_a_list": '[["<f8"], [1], 8]',  # TypeError (unhashable) in the judge
}
# The runner reports ignored magics from an object the student can replace.
MAGICS_NOT_A_LIST = (
    "class Five:\n    def __getitem__(self, key):\n        return 5\n"
    "get_ipython().ignored = Five()\n"
)


@pytest.fixture(scope="module")
def forged(course: Path, tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("forged")
    submissions, out = folder / "submitted", folder / "out"
    source = course / "solutions" / "transposed_conv" / "transposed_conv.ipynb"
    extra = {sid: FORGED_FRAME.format(spec=spec) for sid, spec in FORGED_ARRAYS.items()}
    extra["magics_not_a_list"] = MAGICS_NOT_A_LIST
    for student_id, code in extra.items():
        nb = make_submission(source, None)
        nb.cells.append(nbformat.v4.new_code_cell(code))
        write_student(submissions, student_id, nb)
    result = grade(course, submissions, out, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return read_grades(out)


@pytest.mark.parametrize("student_id", sorted(FORGED_ARRAYS))
def test_malformed_frame_is_the_submissions_crash(forged, student_id):
    row = forged[student_id]
    assert row["status"] == "crashed", row
    assert float(row["score"]) == FULL - CONV1D_MATRIX_POINTS, row
    assert "malformed data" in row["message"], row


def test_tampered_magics_report_does_not_break_the_grader(forged):
    row = forged["magics_not_a_list"]
    assert (row["status"], float(row["score"])) == ("graded", FULL), row
