"""What the launch and release tests share: the book's config, its notebook pages, tools/."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def load_tool(name: str):
    """A script from tools/ as a module (tools/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


student_release_tool = load_tool("student_release")


def book_config() -> dict:
    return yaml.safe_load((REPO / "_config.yml").read_text())


def toc_files(entry: dict | list) -> Iterator[str]:
    """Every `file:` in _toc.yml, whatever the nesting (parts, chapters, sections)."""
    if isinstance(entry, list):
        for item in entry:
            yield from toc_files(item)
    elif isinstance(entry, dict):
        for key in ("root", "file"):
            if key in entry:
                yield entry[key]
        for key in ("parts", "chapters", "sections"):
            if key in entry:
                yield from toc_files(entry[key])


def page_source(docname: str) -> Path:
    matches = [p for p in REPO.glob(f"{docname}.*") if p.suffix in (".md", ".ipynb")]
    assert len(matches) == 1, f"{docname}: expected one .md or .ipynb source, found {matches}"
    return matches[0]


def notebook_pages() -> list[str]:
    """Docnames of the toc's notebook pages: MyST notebook chapters and .ipynb exercises."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = []
    for docname in toc_files(toc):
        source = page_source(docname)
        if source.suffix == ".ipynb" or student_release_tool.is_notebook_chapter(source):
            pages.append(docname)
    return pages


def chapter_sources() -> list[Path]:
    return [page_source(d) for d in notebook_pages() if page_source(d).suffix == ".md"]


def release_path(docname: str) -> str:
    """Where a page's notebook is in the student release (chapters become .ipynb)."""
    return f"{docname}.ipynb"
