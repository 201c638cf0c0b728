"""The built site's navigation text is plain text: no raw TeX in titles, links or headings.

Sphinx renders a page title's ``$...$`` as TeX source wherever the title is reused as text: a
``{doc}`` link to the chapter, the sidebar, the previous/next buttons, the browser tab. Math
that MathJax typesets (``span.math``) is fine; raw TeX outside it is what a reader would see.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from testkit.site import toc_pages

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# Where a title shows up as text: the tab title, headings, and every link (sidebar entries,
# {doc} links, previous/next buttons, the table of contents).
TEXT_ELEMENTS = {"title", "a", "h1", "h2", "h3", "h4", "h5", "h6"}
# Not prose: typeset math (MathJax replaces it), code, scripts.
SKIPPED = {"script", "style", "code", "pre", "svg", "mjx-container"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
RAW_TEX = re.compile(r"\$|\\[A-Za-z]+|\\[()\[\]]|[_^]\{")


class NavigationText(HTMLParser):
    """Collects (element, text) for the text inside TEXT_ELEMENTS, outside SKIPPED parts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []  # (tag, skipped)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.open.append((tag, tag in SKIPPED or "math" in classes))

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, -1, -1):  # tolerate unclosed inner tags
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        if any(skipped for _, skipped in self.open):
            return
        inside = [tag for tag, _ in self.open if tag in TEXT_ELEMENTS]
        if inside and data.strip():
            self.found.append((inside[-1], data.strip()))


def raw_tex(html: str) -> list[tuple[str, str]]:
    parser = NavigationText()
    parser.feed(html)
    return [(tag, text) for tag, text in parser.found if RAW_TEX.search(text)]


def test_raw_tex_is_found_in_link_text_and_titles_but_not_in_typeset_math():
    page = ('<title>2. Multiplication by $W^\\top$</title><h2>By '
            '<span class="math notranslate">\\(W^\\top\\)</span> <code>a_{i}</code></h2>'
            '<nav><a href="02.html">2. Multiplication by W^\\top</a></nav>'
            '<a href="x.html"><span>W<sup>T</sup></span> costs $5</a><p>$x$ in prose</p>')
    assert raw_tex(page) == [("title", "2. Multiplication by $W^\\top$"),
                             ("a", "2. Multiplication by W^\\top"), ("a", "costs $5")]


@pytest.mark.parametrize("page_path", toc_pages(REPO))
def test_no_title_link_or_heading_shows_raw_tex(built_site, page_path):
    found = raw_tex((built_site / page_path).read_text(encoding="utf-8"))
    assert not found, f"{page_path}: raw TeX shown as text (element, text): {found}"
