"""Student markup in the autograded notebooks: rendered the way formgrader and nbgrader's
feedback render it, it carries no script, no event handler and no script URL, yet ordinary
markdown (emphasis, code, tables, math, images) renders as the student wrote it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.utils import is_solution

from autograder.assignment import read_source_notebook
from autograder.autograded import autograded_notebook
from autograder.markup import safe_markdown, safe_raw

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "solutions" / "transposed_conv" / "transposed_conv.ipynb"
PNG = (  # a 1x1 image
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# Each would run script in a page that renders the cell as nbconvert does.
HOSTILE_MARKDOWN = [
    "<script>console.log('STUDENT-SCRIPT-RAN')</script>",
    "<img src=x onerror=\"console.log('STUDENT-SCRIPT-RAN')\">",
    "<svg onload=\"console.log('STUDENT-SCRIPT-RAN')\"></svg>",
    "<details open ontoggle=\"console.log('STUDENT-SCRIPT-RAN')\"><summary>x</summary></details>",
    "<iframe srcdoc=\"<script>parent.console.log('STUDENT-SCRIPT-RAN')</script>\"></iframe>",
    "<a href=\"javascript:console.log('STUDENT-SCRIPT-RAN')\">click</a>",
    "[click](javascript:console.log('STUDENT-SCRIPT-RAN'))",
    '<a href="data:text/html,<script>alert(1)</script>">data</a>',
    "<!--><img src=x onerror=\"console.log('STUDENT-SCRIPT-RAN')\">-->",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"console.log('STUDENT-SCRIPT-RAN')\">",
    "<noscript><p title=\"</noscript><img src=x onerror=console.log('STUDENT-SCRIPT-RAN')>\">",
    "<style>@import 'http://127.0.0.1:9/x.css';</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:console.log(\'STUDENT-SCRIPT-RAN\')">',
    "<form action=\"javascript:console.log('STUDENT-SCRIPT-RAN')\"><button>go</button></form>",
    "```mermaid\ngraph TD; A[\"<img src=x onerror=console.log('STUDENT-SCRIPT-RAN')>\"]\n```",
    "<object data=\"javascript:console.log('STUDENT-SCRIPT-RAN')\"></object>",
    "<base href=\"javascript:console.log('STUDENT-SCRIPT-RAN')//\">",
]
DANGEROUS = re.compile(
    r"<(script|svg|math|iframe|object|embed|style|meta|base|form|details|noscript|link)\b"
    r"|\son\w+\s*=|javascript:|data:text|class=\"[^\"]*mermaid",
    re.IGNORECASE,
)


SAFE_TAGS = set(
    "a abbr b blockquote br code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img kbd li ol p "
    "pre s span strong sub sup table tbody td tfoot th thead tr ul".split()
)


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.found.append(("!--", {}))


def problems(page: str) -> list:
    """Elements and attributes of a page that could run script or restyle it."""
    parser = _Elements()
    parser.feed(page)
    bad = []
    for tag, attrs in parser.found:
        if tag not in SAFE_TAGS:
            bad.append(tag)
        for name, value in attrs.items():
            url = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on") or name in ("style", "id", "name"):
                bad.append(f"{tag} {name}")
            elif url.startswith(("javascript:", "vbscript:", "data:text")) or "mermaid" in url:
                bad.append(f"{tag} {name}={value}")
    return bad


def render(source: str, attachments=None) -> str:
    """A markdown cell as nbconvert's HTML exporters render it."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {})
    return MarkdownWithMath(renderer=renderer).render(source)


@pytest.mark.parametrize("source", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_harmless(source):
    assert DANGEROUS.search(render(source)), "the payload is not dangerous to begin with"
    page = render(safe_markdown(source))
    assert problems(page) == [], page


def test_what_was_removed_stays_visible_as_text():
    page = render(safe_markdown("<script>console.log('STUDENT-SCRIPT-RAN')</script>"))
    assert "&lt;script&gt;console.log('STUDENT-SCRIPT-RAN')&lt;/script&gt;" in page


def test_ordinary_markdown_renders_as_written():
    source = (
        "## Answer\n\nThe *kernel* is **flipped**: `w[::-1]` and $0 < s \\le k$.\n\n"
        "> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nif a < b:\n\n    pass\n```\n\n"
        "![plot](attachment:plot.png) [docs](https://pytorch.org)"
    )
    attachments = {"plot.png": {"image/png": PNG}}
    page = render(safe_markdown(source, attachments))
    for fragment in [
        "<h2>Answer</h2>",
        "<em>kernel</em>",
        "<strong>flipped</strong>",
        "<code>w[::-1]</code>",
        "$0 &lt; s \\le k$",
        "<blockquote>",
        "<td>2</td>",
        f'src="data:image/png;base64,{PNG}"',
        '<a href="https://pytorch.org">docs</a>',
        '<span class="o">&lt;</span>',
        "&#10;&#10;    <span",  # the blank line inside the code block survives
    ]:
        assert fragment in page, fragment
    assert render(safe_markdown(source, attachments)).strip() == safe_markdown(source, attachments)


def test_raw_cells_are_shown_as_text():
    assert safe_raw("<script>x()</script>") == "<pre>&lt;script&gt;x()&lt;/script&gt;</pre>"


def test_autograded_notebook_keeps_nothing_raw_of_the_student():
    source = read_source_notebook(SOURCE)
    student = nbformat.read(SOURCE, as_version=4)
    student.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"x": 1}}
    answer = next(c for c in student.cells if is_solution(c))
    answer.metadata["tags"] = ['"><img src=x onerror=alert(1)>']
    student.cells += [
        nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN[1]),
        nbformat.v4.new_raw_cell("<script>alert(1)</script>", metadata={"format": "text/html"}),
        nbformat.v4.new_code_cell(
            "x = 1",
            metadata={"nbgrader": {"grade_id": '"><script>alert(1)</script>', "points": 99}},
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<script>"})],
        ),
    ]
    verdicts = {
        "cells": [
            {"grade_id": g, "score": 0.0, "points": p, "message": "x"}
            for g, p in source.tests.items()
        ]
    }
    nb = autograded_notebook(student, source, verdicts)
    original = nbformat.read(SOURCE, as_version=4)
    assert nb.metadata == original.metadata
    kept = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    assert kept <= {c.metadata.get("nbgrader", {}).get("grade_id") for c in original.cells}
    assert all(set(c.metadata) <= {"nbgrader"} for c in nb.cells)
    assert not any(
        DANGEROUS.search(render(c.source)) for c in nb.cells if c.cell_type == "markdown"
    )
    raw = [c for c in nb.cells if c.cell_type == "raw"]
    assert raw and all(c.source.startswith("<pre>&lt;") for c in raw)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs and all(o.output_type in ("stream", "error") for o in outputs)
    nbformat.validate(nb)
