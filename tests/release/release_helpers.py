"""What the launch and release tests share: the book's config, its notebook pages, tools/."""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder" / "requirements.txt"
# Binder's base image brings the Jupyter server and the kernel (and so IPython) itself.
PROVIDED_BY_BINDER_IMAGE = {"ipykernel"}


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


# ---- the Binder environment, resolved from this venv's metadata (same pins) ------------------

def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pinned(path: Path) -> dict[str, Requirement]:
    """{canonical name: requirement} of a requirements file's package lines."""
    found = {}
    for line in requirement_lines(path):
        if line.startswith("-") or line == ".":
            continue
        requirement = Requirement(line)
        found[canonicalize_name(requirement.name)] = requirement
    return found


def local_project() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]


def dependency_closure(roots: set[str]) -> set[str]:
    """Canonical names of the roots and everything they require (no extras), as installed."""
    seen, todo = set(), list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def binder_distributions() -> set[str]:
    return dependency_closure({*pinned(BINDER), local_project(), *PROVIDED_BY_BINDER_IMAGE})


def importable_on_binder(module: str, available: set[str], owners: dict[str, list[str]]) -> bool:
    if module in sys.stdlib_module_names or module == local_project():
        return True
    return any(canonicalize_name(dist) in available for dist in owners.get(module, []))


def modules_missing_on_binder() -> set[str]:
    """Top-level modules installed here that a Binder session would not have (build tools...)."""
    available, owners = binder_distributions(), metadata.packages_distributions()
    return {m for m in owners if not importable_on_binder(m, available, owners)}
