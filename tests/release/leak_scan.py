"""Find solution code and hidden-test text in any file, however it is encoded.

The secrets are read from the nbgrader source notebooks (``solutions/**/*.ipynb``), never listed
by hand, so a new exercise is covered the day it is written:

- the lines between ``BEGIN SOLUTION`` / ``END SOLUTION`` and ``BEGIN HIDDEN TESTS`` /
  ``END HIDDEN TESTS`` (and mark schemes), and the whole of a solution cell without delimiters;
- minus every line that students are meant to see anyway (the rest of the source notebooks),
  and minus short or simple lines that would match by chance (see ``is_meaningful``).

A file is searched in every form a line can take there: as text, as the strings of a JSON
document (.ipynb, widget state), with HTML tags and entities removed (Pygments splits a code
line into spans), with JavaScript string escapes undone, and inside zip, gzip, bz2, xz and tar
archives. Whitespace is dropped before comparing, so re-indenting or re-wrapping hides nothing.
"""

from __future__ import annotations

import bz2
import gzip
import html
import io
import json
import lzma
import re
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import is_solution

from testkit.notebooks import secret_delimiters

# nbgrader's own delimiters (ClearSolutions, ClearHiddenTests, ClearMarkScheme), matched as it
# matches them: anywhere in a line.
SECRET_BEGIN, SECRET_END = (
    re.compile("|".join(re.escape(text) for text in texts)) for texts in secret_delimiters()
)
# Shorter or simpler lines (`padding=padding,`, `for _ in range(40):`, `if bias is not None:`)
# are too common in any numpy code to prove a leak; longer ones are specific to the answer.
MIN_SECRET_CHARS = 24
MIN_SECRET_WORDS = 3
WORD = re.compile(r"[A-Za-z_]\w*|\d+")
WHITESPACE = re.compile(r"\s+")
HTML_TAG = re.compile(r"<[^>]*>")
JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
JS_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
MAX_ARCHIVE_DEPTH = 3


def squeeze(text: str) -> str:
    return WHITESPACE.sub("", text)


@dataclass(frozen=True)
class Secret:
    notebook: str
    line: str

    @property
    def needle(self) -> str:
        return squeeze(self.line)


def split_cell(cell) -> tuple[list[str], list[str]]:
    """(secret lines, public lines) of one source cell, as nbgrader's release would split it."""
    lines = cell.source.splitlines()
    if is_solution(cell) and not any(SECRET_BEGIN.search(line) for line in lines):
        return lines, []  # nbgrader replaces the whole cell with "YOUR CODE/ANSWER HERE"
    secret, public, depth = [], [], 0
    for line in lines:
        if SECRET_BEGIN.search(line):
            depth += 1
        elif SECRET_END.search(line):
            depth = max(depth - 1, 0)
        else:
            (secret if depth else public).append(line)
    return secret, public


def is_meaningful(line: str) -> bool:
    words = set(WORD.findall(line))
    return len(squeeze(line)) >= MIN_SECRET_CHARS and len(words) >= MIN_SECRET_WORDS


def secrets_in(solutions: Path) -> list[Secret]:
    """Every meaningful secret line of every source notebook that is not also shown publicly."""
    found: list[tuple[str, str]] = []
    public: set[str] = set()
    for path in sorted(solutions.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            secret, shown = split_cell(cell)
            found += [(str(path.relative_to(solutions)), line) for line in secret]
            public.update(squeeze(line) for line in shown)
    unique = {squeeze(line): Secret(name, line.strip()) for name, line in found}
    return [s for key, s in unique.items() if is_meaningful(s.line) and key not in public]


# ---- every text form of a file --------------------------------------------------------------

def json_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def undo_js_escapes(text: str) -> str:
    def replace(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        return JS_SIMPLE_ESCAPES.get(code, code)

    return JS_ESCAPE.sub(replace, text)


def text_views(text: str) -> Iterator[str]:
    yield text
    try:
        yield "\n".join(json_strings(json.loads(text)))
    except ValueError:
        pass
    if "<" in text or "&" in text:
        yield html.unescape(HTML_TAG.sub("", text))
    if "\\" in text:
        unescaped = undo_js_escapes(text)
        yield unescaped
        yield html.unescape(HTML_TAG.sub("", unescaped))


def archive_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The members of a zip or tar archive, or the content of a compressed stream."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                yield name, archive.read(name)
        return
    for magic, opener in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress),
                          (b"\xfd7zXZ", lzma.decompress)):
        if data.startswith(magic):
            try:
                yield "(decompressed)", opener(data)
            except (OSError, EOFError, lzma.LZMAError, ValueError):
                pass
            return
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                handle = archive.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()
    except tarfile.TarError:
        pass


def squeezed_views(data: bytes, depth: int = 0) -> Iterator[str]:
    for view in text_views(data.decode("utf-8", errors="ignore")):
        yield squeeze(view)
    if depth < MAX_ARCHIVE_DEPTH:
        for _, member in archive_members(data):
            yield from squeezed_views(member, depth + 1)


def leaks_in_file(path: Path, secrets: list[Secret]) -> list[Secret]:
    views = list(squeezed_views(path.read_bytes()))
    return [s for s in secrets if any(s.needle in view for view in views)]


def leaks_in_tree(root: Path, secrets: list[Secret]) -> dict[str, list[str]]:
    """{file relative to root: [secret lines found in it]} for every file under root."""
    leaks = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        found = leaks_in_file(path, secrets)
        if found:
            leaks[str(path.relative_to(root))] = [f"{s.notebook}: {s.line}" for s in found]
    return leaks
