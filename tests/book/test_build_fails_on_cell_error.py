"""A cell that raises fails the book build, on the first build and on the cached rebuild.

The book's real _config.yml is copied into a scratch book with one small chapter. The
chapter first builds cleanly (so the build itself is sound and its cache is warm); then a
failing cell is added and the build must fail twice in a row, the second time with the
failure already recorded in the execution cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

FAILURE = "InjectedFailureForTheBuildTest"

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# A chapter

```{code-cell} ipython3
answer = 6 * 7
answer
```
"""

FAILING_CELL = f"""
```{{code-cell}} ipython3
raise RuntimeError("{FAILURE}")
```
"""

TOC = """format: jb-book
root: index
chapters:
  - file: chapter
"""


def make_book(root: Path) -> None:
    """A two-page book that uses the repository's own _config.yml and the files it points to."""
    root.mkdir()
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    for name in ("_vendor", "_ext"):  # html_extra_path and local extensions, when present
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name)
    (root / "_toc.yml").write_text(TOC)
    (root / "index.md").write_text("# A book\n\nOne chapter follows.\n")
    (root / "chapter.md").write_text(CHAPTER)


def build(root: Path) -> subprocess.CompletedProcess:
    """The same build command as `make book` (the venv first on PATH, for the kernel)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(root), "-W", "-n", "--keep-going"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )


def test_failing_cell_fails_the_build_even_when_cached(tmp_path):
    book = tmp_path / "book"
    make_book(book)
    clean = build(book)
    assert clean.returncode == 0, f"control build failed:\n{(clean.stdout + clean.stderr)[-3000:]}"

    with (book / "chapter.md").open("a") as chapter:
        chapter.write(FAILING_CELL)
    for attempt in ("first build", "cached rebuild"):
        result = build(book)
        log = result.stdout + result.stderr
        assert result.returncode != 0, f"{attempt} passed despite a failing cell:\n{log[-3000:]}"
        assert FAILURE in log, f"{attempt} failed, but not because of the cell:\n{log[-3000:]}"
    assert (book / "_build" / ".jupyter_cache").is_dir(), "the builds did not use the cache"
