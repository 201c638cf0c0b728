"""Diagnose a failed graded cell: which known mistake the student's answers equal, which
length formula a wrong shape follows, and, when nothing known explains them, a fingerprint of
the answers so that a mistake many students share shows up in the class report.

The known mistakes themselves (a torch function computing each mistaken output, its teaching
sentence and its section of the book) are :mod:`tconv.mistakes`: the students' checks in the
notebook give the same hints from the same table, and the student release ships ``tconv``
but not this package. :data:`MISTAKES` is that table by graded function.

Everything here runs in the trusted process, on the judge's cases and the arrays that came
out of the sandbox, and only for a cell that failed: a correct class pays nothing. The work
is bounded by the case's size: an answer is compared with a mistake only when their shapes
agree, and a huge answer is fingerprinted by its shape alone.
"""

from __future__ import annotations

import hashlib
import os
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tconv import mistakes as known
from tconv.mistakes import Section
from tconv.testing import compare

if TYPE_CHECKING:  # autograder.cases reads the contract, which reads this table
    from autograder.cases import Case

# A failing cell keeps calling the student's function on its remaining cases until this many
# have failed: enough to say "on 5 of 5 failed cases", bounded whatever the cell's case count.
MAX_DIAGNOSED_CASES = 8
MAX_SHOWN = 3  # mistakes named for one cell, when several explain the same number of cases
FINGERPRINT_DECIMALS = 6  # answers computed in another order still round alike
MAX_FINGERPRINT_VALUES = 1_000_000  # a larger answer is fingerprinted by its shape alone

MISTAKES: dict[str, tuple[known.Mistake, ...]] = {
    function: known.mistakes_of(function) for function in known.SIGNATURES
}
# Every section a diagnosis may link to: a link is built only from one of these.
SECTIONS: dict[tuple[str, str], Section] = {
    (s.doc, s.anchor): s
    for s in [m.section for m in known.MISTAKES]
    + [f.section for family in known.FORMULAS.values() for f in family]
}


def _same_as(case: Case):
    """Whether an answer equals a mistaken output, by the judge's own comparison and tolerance."""
    return lambda answer, mistaken: compare(answer, mistaken, case.tolerance) is None


def _hint(kind: str, name: str, text: str, section: Section, matched: int, failed: int) -> dict:
    return {
        "kind": kind,
        "name": name,
        "text": text,
        "doc": section.doc,
        "anchor": section.anchor,
        "matched": matched,
        "failed": failed,
    }


def named_mistakes(wrong: list[tuple[Case, np.ndarray]]) -> list[dict]:
    """The known mistakes that explain the most failed cases (at least one), as hints."""
    function = wrong[0][0].function
    counts: dict[str, int] = {}
    by_name = {m.name: m for m in MISTAKES.get(function, ())}
    for case, answer in wrong:
        for mistake in known.matching_mistakes(
            case.function, case.args, case.kwargs, answer, _same_as(case)
        ):
            counts[mistake.name] = counts.get(mistake.name, 0) + 1
    best = max(counts.values(), default=0)
    top = [name for name, count in counts.items() if count == best][:MAX_SHOWN]
    failed = len(wrong)
    return [
        _hint(
            "mistake",
            name,
            by_name[name].sentence(best, failed),
            by_name[name].section,
            best,
            failed,
        )
        for name in top
    ]


def length_formulas(wrong: list[tuple[Case, np.ndarray]]) -> list[dict]:
    """For answers of a wrong length: the formula each axis's lengths follow, as hints."""
    function = wrong[0][0].function
    hints = known.length_hints(function, [(c.args, c.kwargs, answer) for c, answer in wrong])
    return [
        _hint(
            "length",
            f"{h.axis}: {h.formula.name}",
            h.sentence(),
            h.formula.section,
            h.cases,
            len(wrong),
        )
        for h in hints
    ]


def answers_fingerprint(wrong: list[tuple[Case, np.ndarray]]) -> str:
    """The same for two students whose wrong answers agree on every failed case (rounded to
    FINGERPRINT_DECIMALS), whatever order their code summed in."""
    digest = hashlib.sha256()
    for case, answer in wrong:
        digest.update(f"{case.label}|{answer.shape}|".encode())
        if answer.size <= MAX_FINGERPRINT_VALUES and answer.dtype.kind in "biuf":
            rounded = np.round(answer.astype(np.float64), FINGERPRINT_DECIMALS) + 0.0  # no -0.0
            rounded[np.isnan(rounded)] = np.nan  # one NaN, whatever its payload
            digest.update(rounded.tobytes())
    return digest.hexdigest()[:12]


def diagnose(wrong: list[tuple[Case, np.ndarray]]) -> dict | None:
    """What the wrong answers of one cell have in common, or None if it has none.

    ``wrong``: the failed cases, in order, with the student's answer to each (arrays). The
    result is stored in the cell's result: named mistakes first; length formulas when no
    mistake explains every failed case; and then the answers' fingerprint for the report.
    """
    if not wrong:
        return None
    try:
        return _diagnosis(wrong)
    except Exception:  # noqa: BLE001 - a grade never depends on its diagnosis
        return None


def _diagnosis(wrong: list[tuple[Case, np.ndarray]]) -> dict:
    failed = len(wrong)
    hints = named_mistakes(wrong)
    explained = bool(hints) and hints[0]["matched"] == failed
    if not explained:
        hints += length_formulas(wrong)
    return {
        "failed": failed,
        "hints": hints,
        "fingerprint": None if explained else answers_fingerprint(wrong),
    }


# ----------------------------------------------------------------------------- showing it


def default_book_url(course_root: Path, feedback_folder: Path) -> str:
    """The book built in the course's folder (``_build/html``), relative to a feedback page."""
    site = Path(course_root).resolve() / "_build" / "html"
    return Path(os.path.relpath(site, Path(feedback_folder).resolve())).as_posix() + "/"


def hint_texts(cell: dict) -> list[str]:
    """The plain sentences of a cell's diagnosis (for notebooks and text outputs)."""
    return [h["text"] for h in (cell.get("diagnosis") or {}).get("hints", [])]


def hints_html(cell: dict, book_url: str) -> str:
    """The diagnosis of a cell as an HTML list: each sentence escaped, with a link to its
    section when that section is one of the table's."""
    items = []
    for hint in (cell.get("diagnosis") or {}).get("hints", []):
        section = SECTIONS.get((hint.get("doc"), hint.get("anchor")))
        link = (
            f" <a href='{escape(section.href(book_url), quote=True)}'>Read the section</a>"
            if section
            else ""
        )
        items.append(f"<li>{escape(str(hint.get('text', '')))}{link}</li>")
    return f"<ul class='hints'>{''.join(items)}</ul>" if items else ""
