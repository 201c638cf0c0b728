"""Write the student release: the folder pushed as the public repo that Binder and Colab launch.

    python tools/student_release.py --site _build/html --out _build/student

It is assembled from an allow-list (never "everything but the answers"), so a new instructor
file can only leak by being added here on purpose:

- ``README.md``: the student README (tools/student_README.md);
- ``book/``: each MyST notebook chapter as a generated ``.ipynb`` (jupytext, no outputs), which is
  what the site's Binder, JupyterHub and Colab buttons open; other book files as they are;
- ``exercises/``: the nbgrader release as committed, its links to chapters retargeted at the
  chapters' ``.ipynb`` (Markdown cells only);
- ``binder/``, ``tconv/`` and ``pyproject.toml``: the environment, and the helper package that
  Binder installs and Colab's first cell installs from this repo with pip (runtime code only:
  the book's Sphinx extensions live in ``_ext/``, and the release refuses a tconv module that
  imports a build tool);
- ``docs/``: the built site, ready for GitHub Pages ("deploy from branch", folder /docs).

It never copies ``solutions/``, ``autograder/``, ``tests/``, ``testkit/``,
``nbgrader_config.py`` or a gradebook, and it refuses to finish if an nbgrader solution or
hidden-test marker shows up.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

REPO = Path(__file__).resolve().parents[1]
STUDENT_README = REPO / "tools" / "student_README.md"
COPIED_AS_IS = ["binder", "tconv", "pyproject.toml"]
# Editor, build and grading debris that must never travel with a copied folder.
DEBRIS = (
    "__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", "_build", "gradebook.db",
    "nbgrader_config.py", ".nbgrader.log",
)
IGNORED = shutil.ignore_patterns(*DEBRIS)
# nbgrader's delimiters, as its preprocessors define them; a release with one of them in it
# still holds an answer.
ANSWER_MARKERS = tuple(
    text.encode()
    for text in (
        ClearSolutions().begin_solution_delimeter,
        ClearSolutions().end_solution_delimeter,
        ClearHiddenTests().begin_test_delimeter,
        ClearHiddenTests().end_test_delimeter,
    )
)
# The book's build tools: students' environments (Binder, Colab) do not have them.
BUILD_ONLY_PACKAGES = {"sphinx", "jupyter_book", "sphinx_external_toc", "sphinx_book_theme"}
# A Markdown link to a local .md file (the site resolves it to the chapter's page).
MD_LINK = re.compile(r"(\]\()([^)\s#:]+)\.md(?=[#)])")


def is_notebook_chapter(markdown: Path) -> bool:
    """A MyST Markdown notebook (it declares a kernel), as opposed to a plain text page."""
    return "kernelspec" in jupytext.read(markdown).metadata


def write_chapter_notebook(markdown: Path, target: Path) -> None:
    """The chapter as an .ipynb without outputs, unpaired so jupytext can never sync it back."""
    notebook = jupytext.read(markdown)
    notebook.metadata.pop("jupytext", None)
    jupytext.write(notebook, target, fmt="ipynb")


def is_debris(relative: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in DEBRIS)


def copy_book(book: Path, out: Path) -> None:
    for source in sorted(book.rglob("*")):
        if source.is_dir() or is_debris(source.relative_to(book)):
            continue
        target = out / source.relative_to(book)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".md" and is_notebook_chapter(source):
            write_chapter_notebook(source, target.with_suffix(".ipynb"))
        elif source.suffix != ".ipynb":  # a stray .ipynb beside a chapter would be an old copy
            shutil.copy2(source, target)


def link_chapters_as_notebooks(notebook_path: Path) -> None:
    """Point the notebook's links to a chapter's .md at the .ipynb that the release holds.

    The site needs the .md target, but on Binder or a hub the release has only the .ipynb, and
    a link to the .md opens "file not found". Markdown cells only: nbgrader checksums none.
    """
    def retarget(link: re.Match) -> str:
        prefix, stem = link.groups()
        is_notebook = (notebook_path.parent / f"{stem}.ipynb").is_file()
        return f"{prefix}{stem}.ipynb" if is_notebook else link.group(0)

    notebook = nbformat.read(notebook_path, as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    sources = [MD_LINK.sub(retarget, cell.source) for cell in cells]
    if any(new != cell.source for new, cell in zip(sources, cells, strict=True)):
        for new, cell in zip(sources, cells, strict=True):
            cell.source = new
        nbformat.write(notebook, notebook_path)


def copy_site(site: Path, out: Path) -> None:
    shutil.copytree(site, out, ignore=IGNORED)
    (out / ".nojekyll").touch()  # GitHub Pages would otherwise hide _static/ and _sources/


def files_with_answer_markers(root: Path) -> list[Path]:
    return [
        path for path in sorted(root.rglob("*"))
        if path.is_file() and any(marker in path.read_bytes() for marker in ANSWER_MARKERS)
    ]


def build_only_modules(package: Path) -> list[Path]:
    """Modules of ``package`` that import a build tool: build code, which belongs in _ext/."""
    def imports(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.partition(".")[0])
        return names

    return [path for path in sorted(package.rglob("*.py")) if imports(path) & BUILD_ONLY_PACKAGES]


def build_release(site: Path, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy2(STUDENT_README, out / "README.md")
    (out / ".gitignore").write_text("__pycache__/\n.ipynb_checkpoints/\n*.egg-info/\n")
    for name in COPIED_AS_IS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=IGNORED)
        else:
            shutil.copy2(source, out / name)
    copy_book(REPO / "book", out / "book")
    shutil.copytree(REPO / "exercises", out / "exercises", ignore=IGNORED)
    for notebook in [*(out / "book").rglob("*.ipynb"), *(out / "exercises").rglob("*.ipynb")]:
        link_chapters_as_notebooks(notebook)
    copy_site(site, out / "docs")
    leaks = files_with_answer_markers(out)
    if leaks:
        raise SystemExit(f"nbgrader answer markers in the student release: {leaks}")
    build_code = build_only_modules(out / "tconv")
    if build_code:
        raise SystemExit(f"build-only code in the released tconv (move it to _ext/): {build_code}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=REPO / "_build" / "html",
                        help="the built site (default: _build/html from `make book`)")
    parser.add_argument("--out", type=Path, default=REPO / "_build" / "student")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        parser.error(f"no built site at {args.site}; run `make book` first")
    print(f"student release written to {build_release(args.site, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
