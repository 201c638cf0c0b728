"""Sphinx extension: re-execute the chapters whenever the tconv code they run changes.

myst-nb's execution cache is keyed on a notebook's own code cells, so after an edit to
tconv (a matrix builder, a plot, the widget's JS or CSS) an unchanged chapter would still show
its old outputs, including a widget view the new code no longer matches. Keying the cache
folder on a fingerprint of that code fixes that: a change means a new, empty cache (and, since
a config value changed, Sphinx re-reads every page); no change means a no-change rebuild stays
a no-op.

The fingerprint covers what the executed pages import from tconv, followed through the imports
inside tconv, plus the package's JS and CSS (the widget's front-end), and nothing else: editing
``tconv/testing.py``, which only the (unexecuted) exercises import, re-executes nothing.
Listed in _config.yml under sphinx.local_extensions.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import jupytext
from sphinx.application import Sphinx
from sphinx_external_toc.parsing import parse_toc_yaml

PACKAGE_NAME = "tconv"
ASSET_SUFFIXES = {".js", ".css"}
# `import tconv.ops`, `import tconv.ops as o`, `from tconv.widgets import ...`,
# `from tconv import ops, notebook` (the names after "import" may be modules).
IMPORT_LINE = re.compile(
    rf"^[ \t]*(?:from[ \t]+({PACKAGE_NAME}(?:\.\w+)*)[ \t]+import[ \t]+"
    rf"(\([\w\s,]+\)|[\w \t,]+)|import[ \t]+({PACKAGE_NAME}(?:\.\w+)*))", re.M)


def package_dir() -> Path:
    """The installed tconv package (the worktree's, with the editable install)."""
    return Path(importlib.util.find_spec(PACKAGE_NAME).origin).parent


def module_file(package: Path, module: str) -> Path | None:
    """The source of ``tconv.x.y`` inside ``package``, if it is a module of the package."""
    parts = module.split(".")[1:]
    candidates = [package.joinpath(*parts).with_suffix(".py"),
                  package.joinpath(*parts, "__init__.py")]
    return next((path for path in candidates if path.is_file()), None)


def imported_modules(code: str) -> set[str]:
    """The tconv modules (and names of modules) a piece of code imports, read line by line
    (chapter cells may hold IPython magics, which ``ast`` cannot parse)."""
    modules = set()
    for from_module, names, module in IMPORT_LINE.findall(code):
        if module:
            modules.add(module)
            continue
        modules.add(from_module)
        modules.update(f"{from_module}.{name.split()[0]}"
                       for name in names.strip("()").split(",") if name.strip())
    return modules


def tconv_imports_of(path: Path, package: Path) -> set[str]:
    """The tconv modules a module of the package imports (anywhere in it, lazily or not)."""
    parent = ".".join([PACKAGE_NAME, *path.relative_to(package).parent.parts])
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), parent)
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in modules if m == PACKAGE_NAME or m.startswith(PACKAGE_NAME + ".")}


def used_files(code: Iterable[str], package: Path) -> list[Path]:
    """The package files the given code runs: its tconv imports, their imports in turn, and
    ``tconv/__init__.py`` (run by every import of a submodule)."""
    pending = {PACKAGE_NAME}
    for text in code:
        pending |= imported_modules(text)
    files: set[Path] = set()
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        seen.add(module)
        path = module_file(package, module)
        if path is None or path in files:
            continue  # a name imported from a module, not a module
        files.add(path)
        pending |= tconv_imports_of(path, package) - seen
    return sorted(files)


def fingerprint(files: Iterable[Path], package: Path) -> str:
    """A short hash of the files' names (relative to the package) and contents, with every
    JS and CSS file of the package."""
    assets = [p for p in package.rglob("*") if p.suffix in ASSET_SUFFIXES]
    digest = hashlib.sha256()
    for path in sorted({*files, *assets}):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def executed_sources(srcdir: Path, toc_path: Path, exclude_patterns: Iterable[str]) -> list[Path]:
    """The notebook sources of the toc's pages that myst-nb executes (as myst-nb does, a page
    is excluded when its path matches an execution exclude pattern)."""
    sources = []
    for docname in parse_toc_yaml(toc_path):
        for suffix in (".md", ".ipynb"):
            path = srcdir / f"{docname}{suffix}"
            posix = PurePosixPath(path.as_posix())
            if path.is_file() and not any(posix.match(p) for p in exclude_patterns):
                sources.append(path)
    return sources


def code_of(source: Path) -> str:
    notebook = jupytext.read(source)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def cache_per_code_version(app: Sphinx, config) -> None:
    if config.nb_execution_cache_path:  # the book chose its own cache folder (execute.cache)
        return
    srcdir = Path(app.srcdir)
    sources = executed_sources(srcdir, srcdir / config.external_toc_path,
                               config.nb_execution_excludepatterns)
    package = package_dir()
    version = fingerprint(used_files(map(code_of, sources), package), package)
    cache_root = Path(app.outdir).parent / ".jupyter_cache"  # myst-nb's default location
    config.nb_execution_cache_path = str(cache_root / f"tconv-{version}")


def setup(app: Sphinx) -> dict:
    app.setup_extension("myst_nb")  # its config values must exist before ours is set
    app.setup_extension("sphinx_external_toc")  # external_toc_path
    app.connect("config-inited", cache_per_code_version)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
