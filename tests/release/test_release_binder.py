"""binder/requirements.txt stays in step with requirements.txt and covers what students import.

CI never installs the Binder file (PyTorch's CPU index is not reachable here), so it is checked
statically: same pins as the tested environment, CPU torch, no build or test tools, and every module
that a released notebook imports is provided by the Binder packages or their dependencies
(resolved from this venv's installed metadata, which has the same pins).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.version import Version
from release_helpers import (
    BINDER,
    REPO,
    binder_distributions,
    importable_on_binder,
    pinned,
    requirement_lines,
)

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# nbgrader itself is there for students' Validate button; binder/postBuild turns off its
# instructor tools (tests/release/test_release_postbuild.py).
INSTRUCTOR_ONLY = {"jupyter-book", "sphinx", "myst-nb", "sphinx-book-theme", "pytest",
                   "hypothesis", "playwright", "ruff", "jupyter-cache"}


def exact_version(requirement: Requirement) -> Version:
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement} must be pinned exactly"
    return Version(spec.version)


def test_every_binder_package_is_pinned_alike_in_requirements_txt():
    binder, root = pinned(BINDER), pinned(REPO / "requirements.txt")
    assert binder, "binder/requirements.txt lists no packages"
    for name, requirement in binder.items():
        assert name in root, f"{name} is in binder/requirements.txt but not in requirements.txt"
        binder_version = exact_version(requirement)
        assert root[name].specifier.contains(binder_version, prereleases=True), (
            f"{name}: binder pins {binder_version}, requirements.txt wants {root[name].specifier}"
        )
        assert binder_version.public == exact_version(root[name]).public, name


def test_binder_installs_cpu_torch_and_the_helper_package():
    lines = requirement_lines(BINDER)
    assert f"--extra-index-url {CPU_INDEX}" in lines, "torch must come from PyTorch's CPU index"
    assert "torch" in pinned(BINDER)
    assert "." in lines, "the helper package (the repo root) must be installed"


def test_binder_has_no_instructor_tools():
    assert not INSTRUCTOR_ONLY & set(pinned(BINDER)), INSTRUCTOR_ONLY & set(pinned(BINDER))


def test_binder_python_matches_the_project():
    runtime = (REPO / "binder" / "runtime.txt").read_text().strip()
    wanted = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    version = runtime.removeprefix("python-")
    assert Requirement(f"python{wanted}").specifier.contains(f"{version}.0"), (runtime, wanted)


# ---- what the released notebooks import --------------------------------------------------

def imported_modules(source: str) -> set[str]:
    code = TransformerManager().transform_cell(source)  # %pip and friends become Python
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def released_notebook_imports(release_roots: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for root in release_roots:
        for path in sorted(root.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "code":
                    for module in imported_modules(cell.source):
                        found.setdefault(module, set()).add(path.name)
    return found


@pytest.mark.slow
def test_binder_provides_every_module_the_released_notebooks_import(student_release):
    available, owners = binder_distributions(), metadata.packages_distributions()
    imports = released_notebook_imports([student_release / "book", student_release / "exercises"])
    assert imports, "no imports found in the released notebooks"
    missing = {module: sorted(notebooks) for module, notebooks in sorted(imports.items())
               if not importable_on_binder(module, available, owners)}
    assert not missing, f"imported by released notebooks but not installed on Binder: {missing}"


def test_requirement_parsing_sees_the_pins():
    """Guards the parser above: a comment or option line is never taken for a package."""
    names = set(pinned(BINDER))
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in names), names
