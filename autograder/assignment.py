"""What is being graded: the course's nbgrader config and the assignment's source notebooks.

Notebooks and their graded cells are discovered from nbgrader metadata in the source
notebooks, never from a hard-coded list, so the same code grades any number of notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


class AssignmentError(RuntimeError):
    """The instructor's side is not set up (no config, no source notebooks, unknown cells)."""


@dataclass(frozen=True)
class SourceNotebook:
    name: str  # file stem, as nbgrader names notebooks
    tests: dict[str, float]  # grade_id -> points of each autograded test cell, in notebook order
    locked: dict[str, str]  # grade_id -> source of read-only, non-test cells (setup code)
    path: Path
    answers: tuple[str, ...] = ()  # grade_ids of the solution cells students write in

    @property
    def max_score(self) -> float:
        return sum(self.tests.values())


@dataclass(frozen=True)
class Assignment:
    name: str
    root: Path
    db_url: str
    course_id: str
    notebooks: tuple[SourceNotebook, ...]
    autograded_pattern: str  # nbgrader's autograded folder, with NUL standing for the student
    # The course's nbgrader config, for nbgrader steps run as nbgrader runs them (late penalty).
    config: Config = field(default_factory=Config, compare=False, repr=False)

    def autograded_folder(self, student_id: str) -> Path:
        return Path(self.autograded_pattern.replace("\0", student_id))

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks)


def read_source_notebook(path: Path) -> SourceNotebook:
    """The instructor's notebook, read with nbgrader's own cell predicates (nbgrader.utils)."""
    nb = nbformat.read(path, as_version=4)
    tests, locked, answers = {}, {}, []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not grade_id:
            continue
        if is_solution(cell):
            answers.append(grade_id)
        elif cell.cell_type == "code" and is_grade(cell):
            tests[grade_id] = float(cell.metadata.nbgrader.get("points", 0))
        elif cell.cell_type == "code" and is_locked(cell):
            locked[grade_id] = cell.source
    return SourceNotebook(path.stem, tests, locked, path, tuple(answers))


def load_assignment(name: str, root: Path) -> Assignment:
    """Read ``nbgrader_config.py`` in ``root`` the way nbgrader does, then the source notebooks."""
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise AssignmentError(
            f"no nbgrader_config.py in {root}: run the grader from the course root"
        )
    config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    if not coursedir.root or coursedir.root == str(Path.cwd()):
        coursedir.root = str(root.resolve())
    source_dir = Path(coursedir.format_path(coursedir.source_directory, ".", name))
    paths = sorted(source_dir.glob("*.ipynb"))
    if not paths:
        raise AssignmentError(f"no source notebooks for assignment {name!r} in {source_dir}")
    notebooks = tuple(read_source_notebook(p) for p in paths)
    if not any(nb.tests for nb in notebooks):
        raise AssignmentError(f"assignment {name!r} has no autograded test cells")
    autograded = coursedir.format_path(coursedir.autograded_directory, "\0", name)
    return Assignment(
        name,
        Path(coursedir.root),
        coursedir.db_url,
        coursedir.course_id,
        notebooks,
        autograded,
        config,
    )
