"""The student release and the built site hold no solution code and no hidden-test text.

The secret lines come from solutions/**/*.ipynb (see leak_scan.py); every file of the release
and of the site is searched, whatever its type, including inside archives. The detector is
itself checked on planted leaks, so a scan that finds nothing means something.
"""

from __future__ import annotations

import gzip
import html
import io
import json
import zipfile

import nbformat
import pytest
from leak_scan import leaks_in_file, leaks_in_tree, secrets_in, split_cell
from release_helpers import REPO, student_release_tool

pytestmark = pytest.mark.slow
FORBIDDEN_IN_RELEASE = ["solutions", "autograder", "testkit", "tests", "nbgrader_config.py",
                        "gradebook.db", "requirements.txt", "Makefile", ".ci"]


@pytest.fixture(scope="module")
def secrets():
    found = secrets_in(REPO / "solutions")
    assert len(found) >= 10, f"too few secret lines found in solutions/ to mean anything: {found}"
    return found


def test_release_has_the_student_files_and_nothing_of_the_instructors(student_release):
    for name in ["README.md", "binder/requirements.txt", "pyproject.toml", "tconv/__init__.py",
                 "docs/index.html", "docs/.nojekyll"]:
        assert (student_release / name).is_file(), name
    assert sorted(p.name for p in (student_release / "exercises").iterdir())
    assert list((student_release / "book").glob("*.ipynb"))
    for name in FORBIDDEN_IN_RELEASE:
        assert not (student_release / name).exists(), f"{name} must not be in the student release"
    instructor_files = {"gradebook.db", "nbgrader_config.py"}
    leftovers = [p for p in student_release.rglob("*") if p.name in instructor_files]
    assert not leftovers, leftovers


def test_released_helper_package_is_runtime_code_only(student_release, tmp_path):
    assert not student_release_tool.build_only_modules(student_release / "tconv")
    assert not list((student_release / "tconv").glob("sphinx_*.py"))
    planted = tmp_path / "tconv"
    planted.mkdir()
    (planted / "ok.py").write_text("import numpy\ntry:\n    from myst_nb import glue\n"
                                   "except ImportError:\n    pass\n")
    (planted / "ext.py").write_text("def setup(app):\n    from sphinx.util import logging\n")
    assert student_release_tool.build_only_modules(planted) == [planted / "ext.py"]


def test_student_release_holds_no_answers(student_release, secrets):
    leaks = leaks_in_tree(student_release, secrets)
    assert not leaks, f"solution or hidden-test lines in the student release: {leaks}"


def test_built_site_holds_no_answers(built_site, secrets):
    leaks = leaks_in_tree(built_site, secrets)
    assert not leaks, f"solution or hidden-test lines in the built site: {leaks}"


# ---- the detector finds what it should --------------------------------------------------------

def highlighted_html(line: str) -> str:
    """Roughly how Pygments puts a code line in a page: one span per token, entities escaped."""
    spans = "".join(f'<span class="n">{html.escape(token)}</span> ' for token in line.split())
    return f'<div class="highlight"><pre>{spans}</pre></div>'


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def planted_files(line: str) -> dict[str, bytes]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"    {line}\n")])
    as_ipynb = nbformat.writes(notebook).encode()
    return {
        "plain.txt": f"x\n{line}\n".encode(),
        "notebook.ipynb": as_ipynb,
        "page.html": highlighted_html(line).encode(),
        "state.js": f"var s = {json.dumps({'code': line})};".encode(),
        "bundle.zip": zipped("inner/notebook.ipynb", as_ipynb),
        "page.html.gz": gzip.compress(highlighted_html(line).encode()),
    }


def test_detector_finds_planted_secret_lines_in_every_format(tmp_path, secrets):
    for secret in secrets[:: max(1, len(secrets) // 5)]:
        for name, data in planted_files(secret.line).items():
            path = tmp_path / name
            path.write_bytes(data)
            assert leaks_in_file(path, [secret]) == [secret], f"{name} hides: {secret.line}"


def test_detector_passes_the_released_exercises(secrets):
    """The generated release (no answers by construction) is clean, so matches are not noise."""
    assert not leaks_in_tree(REPO / "exercises", secrets)


def test_regions_are_split_as_nbgrader_releases_them():
    cell = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return secret_code(x)\n    ### END SOLUTION\n"
        "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == hidden_case(2)\n"
        "### END HIDDEN TESTS\n"
    )
    secret, public = split_cell(cell)
    assert [s.strip() for s in secret] == ["return secret_code(x)", "assert f(2) == hidden_case(2)"]
    assert public == ["def f(x):", "assert f(1) == 1"]
    whole = nbformat.v4.new_code_cell("answer = 42", metadata={"nbgrader": {"solution": True}})
    assert split_cell(whole) == (["answer = 42"], [])
