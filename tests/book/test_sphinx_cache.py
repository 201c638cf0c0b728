"""_ext/sphinx_cache.py: the chapters re-execute when the tconv code they run changes, and only
then (editing tconv/testing.py, which only the unexecuted exercises import, re-runs nothing)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def load_extension():
    """_ext/ holds Sphinx extensions that jupyter-book loads by path, not a package."""
    spec = importlib.util.spec_from_file_location("sphinx_cache", REPO / "_ext" / "sphinx_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sphinx_cache = load_extension()


@pytest.fixture
def package(tmp_path):
    """A copy of the tconv package to edit."""
    copy = tmp_path / "tconv"
    shutil.copytree(sphinx_cache.package_dir(), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def executed_chapters() -> list[Path]:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    return sphinx_cache.executed_sources(REPO, REPO / "_toc.yml",
                                         config["execute"]["exclude_patterns"])


def fingerprint_of(package: Path) -> str:
    code = map(sphinx_cache.code_of, executed_chapters())
    return sphinx_cache.fingerprint(sphinx_cache.used_files(code, package), package)


def test_the_executed_pages_are_the_toc_chapters_without_the_exercises():
    sources = [p.relative_to(REPO).as_posix() for p in executed_chapters()]
    assert "book/01_conv_as_matrix.md" in sources
    assert not any(s.startswith("exercises/") for s in sources)


def test_imports_are_followed_into_the_package(package):
    (package / "helper.py").write_text("X = 1\n")
    (package / "plotting.py").write_text(
        (package / "plotting.py").read_text() + "\nfrom .helper import X  # noqa\n")
    code = ["import numpy\nfrom tconv import ops, as_torch\n%pip install x\n"
            "from tconv import (\n    notebook,\n)\n",
            "from tconv.plotting import matrices\nimport tconv.widgets as w\n"]
    used = {p.name for p in sphinx_cache.used_files(code, package)}
    # as_torch is a name of tconv/__init__.py, which imports tconv.tensors lazily
    assert {"__init__.py", "ops.py", "tensors.py", "plotting.py", "helper.py", "notebook.py",
            "widgets.py"} <= used
    assert "testing.py" not in used


def test_the_chapters_fingerprint_changes_with_their_code_only(package):
    before = fingerprint_of(package)
    assert fingerprint_of(package) == before  # stable
    testing = package / "testing.py"
    testing.write_text(testing.read_text() + "\n# only the exercises import this\n")
    assert fingerprint_of(package) == before
    for name in ("ops.py", "widgets.py", "view.js", "view.css"):
        path = package / name
        original = path.read_text()
        path.write_text(original + "\n/* changed */\n" if name.endswith((".js", ".css"))
                        else original + "\n# changed\n")
        assert fingerprint_of(package) != before, f"editing {name} must re-execute"
        path.write_text(original)
    assert fingerprint_of(package) == before
