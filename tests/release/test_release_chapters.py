"""Chapters open and run as notebooks outside the site: on Colab, Binder or a hub.

- Every chapter starts with the Colab-only install cell, and it installs the helper package from
  the release repository and branch in _config.yml (the ones the launch buttons use).
- Each chapter's generated .ipynb from the student release runs top to bottom in a fresh kernel
  that sees only what a Binder session has: the release's own copy of the helper package, and
  none of the installed modules that binder/requirements.txt does not bring (jupyter-book,
  myst_nb, nbgrader, pytest...), which the kernel refuses to import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from release_helpers import (
    book_config,
    chapter_sources,
    modules_missing_on_binder,
    release_path,
)

CHAPTERS = chapter_sources()
CELL_TIMEOUT_S = 300
# Loaded by the kernel's interpreter at start-up (sitecustomize on PYTHONPATH).
NOT_ON_BINDER_HOOK = """
import sys
from importlib.abc import MetaPathFinder

NOT_ON_BINDER = {blocked!r}


class NotOnBinder(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in NOT_ON_BINDER:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not on Binder)", name=name)
        return None


sys.meta_path.insert(0, NotOnBinder())
"""


def expected_colab_cell() -> str:
    repository = book_config()["repository"]
    url = f"git+{repository['url'].rstrip('/')}@{repository['branch']}"
    return (
        "# Colab only: install the course's helper package"
        " (Binder and JupyterHub already have it).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "tconv @ {url}"'
    )


def first_code_cell(notebook) -> str:
    return next(c.source for c in notebook.cells if c.cell_type == "code").strip()


@pytest.fixture(scope="module")
def binder_like_kernel_path(tmp_path_factory):
    """A folder whose sitecustomize.py makes the kernel refuse modules Binder would not have."""
    folder = tmp_path_factory.mktemp("binder_like")
    hook = NOT_ON_BINDER_HOOK.format(blocked=sorted(modules_missing_on_binder()))
    (folder / "sitecustomize.py").write_text(hook)
    return folder


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_starts_with_the_colab_install_cell(chapter):
    assert first_code_cell(jupytext.read(chapter)) == expected_colab_cell(), chapter.name


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_release_notebook_starts_with_the_colab_install_cell(student_release, chapter):
    docname = chapter.relative_to(chapter.parents[1]).with_suffix("").as_posix()
    notebook = nbformat.read(student_release / release_path(docname), as_version=4)
    assert first_code_cell(notebook) == expected_colab_cell()
    assert not any(c.get("outputs") for c in notebook.cells), "release notebooks carry no outputs"
    assert "jupytext" not in notebook.metadata, "an unpaired copy: jupytext must not sync it back"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_release_chapter_notebook_runs_top_to_bottom(
    student_release, binder_like_kernel_path, chapter, monkeypatch
):
    docname = chapter.relative_to(chapter.parents[1]).with_suffix("").as_posix()
    path = student_release / release_path(docname)
    notebook = nbformat.read(path, as_version=4)
    # The kernel inherits this: the release's tconv shadows the instructor checkout's.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(binder_like_kernel_path),
                                                      str(student_release)]))
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors


@pytest.mark.slow
def test_release_installs_the_helper_package(student_release, tmp_path):
    """What Binder's `.` and Colab's `%pip install git+<release>` do: build tconv from the release.

    Built from a copy (the build leaves build/ and egg-info behind) without network:
    --no-build-isolation uses this venv's setuptools.
    """
    source = tmp_path / "release"
    shutil.copytree(student_release, source, ignore=shutil.ignore_patterns("docs"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", str(source), "-w", str(tmp_path / "wheels")],
                   check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "wheels").glob("tconv-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(source).as_posix() for p in (source / "tconv").iterdir()
               if p.suffix in (".py", ".js", ".css")}
    assert shipped and shipped <= packaged, sorted(shipped - packaged)
    instructors = [n for n in packaged if n.startswith(("autograder/", "testkit/"))]
    assert not instructors, instructors
