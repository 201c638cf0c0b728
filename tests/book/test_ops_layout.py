"""tconv.ops reads like the book: one section per chapter, in chapter order, each function in
the section of the first chapter that uses it (or an earlier one, when an earlier function needs
it), helpers before their users, and above each function a comment saying where it is used."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "tconv" / "ops.py"
SECTION = re.compile(r"^# --- Chapter (\d+)\b")


def functions() -> list[ast.FunctionDef]:
    return [n for n in ast.parse(OPS.read_text()).body if isinstance(n, ast.FunctionDef)]


def book_chapters_using(name: str) -> list[int]:
    """Chapters whose notebook calls ``ops.<name>``."""
    pattern = re.compile(rf"\bops\.{name}\b")
    return sorted(int(page.name[:2]) for page in (ROOT / "book").glob("[0-9][0-9]_*.md")
                  if pattern.search(page.read_text()))


def callers_in_ops(name: str) -> list[str]:
    """The functions of tconv.ops that call ``name``."""
    return sorted(f.name for f in functions() if f.name != name and any(
        isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == name
        for c in ast.walk(f)))


def and_list(items) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def usage_comment(name: str) -> str:
    """The comment line the function must carry, computed from the book and this module:
    the chapters that call it, else the functions here that call it."""
    if chapters := book_chapters_using(name):
        return f"# Used in chapter{'s' if len(chapters) > 1 else ''} {and_list(chapters)}."
    if callers := callers_in_ops(name):
        return f"# Used by {and_list(callers)}."
    return "# Used in no chapter: a reference the tests check against torch."


def comment_above(lines: list[str], node: ast.FunctionDef) -> str:
    return lines[node.lineno - 2].rstrip("\n")


def section_of(lines: list[str], node: ast.FunctionDef) -> int:
    """The chapter number of the nearest section header above the function."""
    for line in reversed(lines[: node.lineno - 1]):
        if match := SECTION.match(line):
            return int(match.group(1))
    raise AssertionError(f"{node.name} is above every section header")


@pytest.mark.parametrize("node", functions(), ids=lambda n: n.name)
def test_each_function_says_where_it_is_used(node):
    lines = OPS.read_text().splitlines()
    assert comment_above(lines, node) == usage_comment(node.name)


@pytest.mark.parametrize("node", functions(), ids=lambda n: n.name)
def test_each_function_sits_no_later_than_the_first_chapter_using_it(node):
    chapters = book_chapters_using(node.name)
    if chapters:
        assert section_of(OPS.read_text().splitlines(), node) <= chapters[0]


def test_sections_follow_the_chapters_and_helpers_come_first():
    lines = OPS.read_text().splitlines()
    sections = [int(m.group(1)) for line in lines if (m := SECTION.match(line))]
    assert sections == sorted(set(sections)), sections
    order = {f.name: i for i, f in enumerate(functions())}
    for name, position in order.items():
        late = [c for c in callers_in_ops(name) if order[c] < position]
        assert not late, f"{name} is defined after its users {late}"
