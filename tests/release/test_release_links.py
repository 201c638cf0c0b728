"""Relative links in the release's notebooks open something on Binder, a hub or a clone.

The site resolves a link to a chapter's MyST ``.md``, but the release holds that chapter as an
``.ipynb``; a link left pointing at the ``.md`` opens "file not found" where students work.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow
MARKDOWN_LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")


def relative_link_targets(notebook: Path) -> list[str]:
    """Targets of the notebook's Markdown links that are files (not URLs, not in-page anchors)."""
    cells = nbformat.read(notebook, as_version=4).cells
    targets = [t for c in cells if c.cell_type == "markdown"
               for t in MARKDOWN_LINK_TARGET.findall(c.source)]
    local = [t for t in targets if "://" not in t and not t.startswith(("#", "mailto:"))]
    return [t.split("#")[0] for t in local]


def test_every_relative_link_in_a_release_notebook_opens_a_file(student_release):
    notebooks = sorted(student_release.glob("exercises/**/*.ipynb"))
    notebooks += sorted(student_release.glob("book/**/*.ipynb"))
    assert notebooks
    broken = [
        f"{notebook.relative_to(student_release)} -> {target}"
        for notebook in notebooks
        for target in relative_link_targets(notebook)
        if not (notebook.parent / target).is_file()
    ]
    assert not broken, "links that open nothing in the student release:\n" + "\n".join(broken)
