"""Student markup that a grader's browser may render: the markdown and raw cells of the
autograded notebooks, which formgrader and ``nbgrader generate_feedback`` turn into pages on
the instructor's Jupyter server (where a student's script would act as the instructor).

A markdown cell is rendered exactly as those pages render it (nbconvert's own markdown
renderer, math and attachments included), the HTML is cleaned with an allowlist (bleach,
which nbconvert itself uses: tags markdown produces, images, no script, no event handlers, no
styles or ids, links only to http, https and mailto, data URLs only for images), and the
cleaned HTML is stored as the cell's source on one line: a single HTML block that the
renderer passes through untouched. What was removed stays visible as text (``<script>``
shows as ``<script>``), so a reviewer sees what the student tried.
"""

from __future__ import annotations

import functools
import re
from html import escape

import bleach
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img kbd li ol p "
    "pre s span strong sub sup table tbody td tfoot th thead tr ul".split()
)
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})
IMAGE_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)[;,]")
# Classes the renderer itself writes: code highlighting (pygments' short token names). Not
# e.g. "mermaid", which would hand the block to a diagram library's own HTML rendering.
RENDERER_CLASS = re.compile(r"highlight|[a-z]{1,3}\d?")
_URL_NOISE = re.compile(r"[\x00-\x20]+")  # what browsers ignore inside a URL's scheme


def _url(value: str) -> str:
    return _URL_NOISE.sub("", value).lower()


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return all(RENDERER_CLASS.fullmatch(token) for token in value.split())
    if tag == "a":
        return name == "title" or (name == "href" and not _url(value).startswith("data:"))
    if tag == "img":
        if name == "src":
            url = _url(value)
            return not url.startswith("data:") or bool(IMAGE_DATA_URL.match(url))
        return name in ("alt", "title", "width", "height")
    if tag in ("td", "th"):
        return name in ("align", "colspan", "rowspan")
    return tag == "ol" and name == "start"


def clean_html(html: str) -> str:
    """HTML with everything outside the allowlist escaped (shown as text) or dropped."""
    return bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
    )


def _one_html_block(html: str) -> str:
    """``html`` as one line inside a div: markdown passes a block like that through as it is
    (a blank line would end it); character references keep the line breaks of code."""
    return "<div>" + html.replace("\r", "&#13;").replace("\n", "&#10;") + "</div>"


def safe_markdown(source: str, attachments: dict | None = None) -> str:
    """A markdown cell's source, as markdown that renders to the cleaned HTML of the original."""
    if attachments:
        return _cleaned_block(source, attachments)
    return _cleaned_block_of_text(source)


@functools.lru_cache(maxsize=1024)
def _cleaned_block_of_text(source: str) -> str:
    """Most markdown cells are the instructions, unchanged in every submission: each is
    rendered and cleaned once per batch (about 10 ms a cell)."""
    return _cleaned_block(source, None)


def _cleaned_block(source: str, attachments: dict | None) -> str:
    try:
        renderer = IPythonRenderer(
            escape=False, attachments=attachments or {}, exclude_anchor_links=True
        )
        html = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # e.g. a missing attachment: show the text itself
        html = f"<pre>{escape(source)}</pre>"
    return _one_html_block(clean_html(html))


def safe_raw(source: str) -> str:
    """A raw cell's source, which HTML exports copy into the page as it is: shown as text."""
    return f"<pre>{escape(source)}</pre>"
