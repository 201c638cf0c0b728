"""Which folder names are graded as student ids, and which are refused as unsafe."""

from __future__ import annotations

import pytest

from autograder.submissions import is_safe_id


@pytest.mark.parametrize(
    "student_id", ["alice", "jdoe42", "josé", "Smith, John_1234", "john smith", "o'brien",
                   "a.b@uni.edu", "李雷", "x-1+2"],
)
def test_names_as_lms_and_hubs_spell_them_are_graded(student_id):
    assert is_safe_id(student_id)


@pytest.mark.parametrize(
    "student_id", ["", ".", "..", "../x", "a/b", "a\\b", ".hidden", "-rf", " alice", "alice ",
                   "tab\there", "nul\0", "new\nline", "x" * 129],
)
def test_names_that_could_act_as_a_path_or_a_flag_are_refused(student_id):
    assert not is_safe_id(student_id)
