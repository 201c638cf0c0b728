"""The built book's pages as a reader sees them: one copy for every test that reads a page."""

from __future__ import annotations

import html
import re
from pathlib import Path


def visible_text(raw: str) -> str:
    """What a reader sees without moving a slider: no scripts, tags stripped, spaces collapsed.

    Widget tables are scripts, so a number that only survives inside a slider's precomputed
    table does not count as shown.
    """
    no_scripts = re.sub(r"<script\b.*?</script>", " ", raw, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", no_scripts)).split())


def chapter_html(site: Path, stem: str) -> str:
    """The built HTML of ``book/<stem>.md``."""
    return (site / "book" / f"{stem}.html").read_text(encoding="utf-8")


def prose(raw: str) -> str:
    """``visible_text`` with the gaps that stripping inline tags leaves before punctuation closed.

    ``<span>4</span>, one per tap`` reads "4, one per tap" on the page, and so it does here.
    """
    return re.sub(r"(?<=\S) ([,.;:)])", r"\1", re.sub(r"\( (?=\S)", "(", visible_text(raw)))
