"""A built chapter page as its reader sees it, for the tests that look for computed numbers.

Widget state and other scripts are dropped first, so a number that only survives inside a
slider's precomputed table does not count as shown in the prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from book_pages import chapter_html, visible_text

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
# sphinx-design's folded ```{dropdown}``` (hidden code cells are <details> of another class)
_DROPDOWN = re.compile(r'<details class="[^"]*\bsd-dropdown\b[^"]*">(.*?)</details>', re.S)


def dropdowns(raw: str) -> list[str]:
    """The visible text of every folded dropdown on the page, in page order."""
    return [visible_text(body) for body in _DROPDOWN.findall(_SCRIPT.sub(" ", raw))]


@dataclass(frozen=True)
class ChapterPage:
    """One built chapter: its HTML, what a reader sees of it, and its folded answers."""

    raw: str
    text: str
    answers: list[str]

    @classmethod
    def load(cls, site: Path, stem: str) -> ChapterPage:
        raw = chapter_html(site, stem)
        return cls(raw, visible_text(raw), dropdowns(raw))

    def shown_numbers(self, pattern: str) -> list[float]:
        """The numbers the page shows where ``pattern`` (a regex over the visible text, one
        ``(\\S+)`` group per number) matches first; a printed error such as ``1.2e-16``."""
        match = re.search(pattern, self.text)
        assert match, f"the page does not show {pattern!r}"
        return [float(group) for group in match.groups()]
