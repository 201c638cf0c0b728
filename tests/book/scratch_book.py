"""A scratch Jupyter Book built with the repository's own configuration, for build tests.

The book's _config.yml is copied, its _vendor/ and _ext/ linked, and the pages given are
written next to it; ``build`` runs the same command as `make book`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# The front matter of a MyST Markdown notebook page, as jupytext writes it: myst-nb executes
# such a page with the python3 kernel.
MYST_NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def make_book(root: Path, pages: dict[str, str], intro: str = "A book.") -> Path:
    """A book at ``root``: an index page (``intro``), then ``pages`` ({file stem: text}) as
    chapters in the order given, with the repository's _config.yml, _vendor/ and _ext/."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    for name in ("_vendor", "_ext"):  # html_extra_path and the local extensions
        (root / name).symlink_to(REPO / name)
    (root / "index.md").write_text(f"# A book\n\n{intro}\n")
    for stem, text in pages.items():
        (root / f"{stem}.md").write_text(text)
    chapters = "".join(f"  - file: {stem}\n" for stem in pages)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: index\nchapters:\n{chapters}")
    return root


def build(root: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """The same build command as `make book` (the venv first on PATH, for the kernel)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(root), "-W", "-n", "--keep-going"],
        cwd=root, env=env, capture_output=True, text=True, timeout=timeout,
    )
