"""Known mistakes of each graded cell, by grade_id (issue 10 section 2, being written).

The grading contract (autograder/contract.py) refers to this table by grade_id and never
defines a mistake itself. Until section 2 lands it is empty: no cell has a known mistake.
"""

from __future__ import annotations

MISTAKES: dict[str, tuple] = {}
