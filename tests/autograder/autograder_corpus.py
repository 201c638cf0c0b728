"""A class of adversarial and broken submissions, each with the outcome the grader must give.

Every kind starts from a student-style notebook made by ``autograder.mutants`` (correct, or
with a known bug and its known score) and breaks it one way. ``Kind.files`` writes the
student's folder; kinds that must arrive as raw zip members say so in ``zip_members``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.mutants import EXPECTED_SCORES, make_submission

NOTEBOOK = "transposed_conv"
FULL = EXPECTED_SCORES[None]
# Points of the graded cells that call conv_transpose1d / conv_transpose2d (contract table);
# conv1d_input_grad reuses conv_transpose1d in the model answer.
TCONV1D_POINTS = 2 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 2
TCONV2D_POINTS = 1 + 2
CONV1D_MATRIX_POINTS = 2


@dataclass
class Kind:
    student_id: str
    status: str
    score: float
    message: str = ""  # a substring the CSV message must contain
    notebook: Callable[[Path], object] | None = None  # source path -> notebook or raw bytes
    zip_members: dict[str, bytes] = field(default_factory=dict)  # written as raw zip entries
    symlink_to: str | None = None  # the notebook is a zip symlink member pointing here


def _nb(source: Path, bug: str | None = None) -> nbformat.NotebookNode:
    return make_submission(source, bug)


def _with_cell(code: str, bug: str | None = None, at: int | None = None):
    """The (buggy) submission with one extra student code cell, first or after the setup."""

    def build(source: Path):
        nb = _nb(source, bug)
        index = at if at is not None else 2
        nb.cells.insert(index, nbformat.v4.new_code_cell(code))
        return nb

    return build


def _answer_index(nb, function: str) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and f"def {function}(" in c.source
    )


def _replace_answer(function: str, code: str):
    def build(source: Path):
        nb = _nb(source)
        nb.cells[_answer_index(nb, function)].source = code
        return nb

    return build


def _test_cells(nb) -> list[int]:
    return [
        i
        for i, c in enumerate(nb.cells)
        if (c.metadata.get("nbgrader") or {}).get("grade")
        and not (c.metadata.get("nbgrader") or {}).get("solution")
    ]


def _tests_deleted(source: Path):
    nb = _nb(source, "kernel_flipped")
    for i in reversed(_test_cells(nb)):
        del nb.cells[i]
    return nb


def _tests_edited(source: Path):
    nb = _nb(source, "kernel_flipped")
    for i in _test_cells(nb):
        nb.cells[i].source = "print('all tests passed')\nassert True"
    return nb


def _tests_to_markdown(source: Path):
    nb = _nb(source, "kernel_flipped")
    for i in _test_cells(nb):
        cell = nb.cells[i]
        nb.cells[i] = nbformat.v4.new_markdown_cell(
            cell.source, metadata=copy.deepcopy(cell.metadata)
        )
    return nb


def _renamed(source: Path):
    nb = _nb(source)
    i = _answer_index(nb, "conv_transpose2d")
    nb.cells[i].source = nb.cells[i].source.replace(
        "def conv_transpose2d(", "def conv_transpose_2d("
    )
    return nb


def _wrong_nbformat(source: Path) -> bytes:
    data = json.loads(nbformat.writes(_nb(source)))
    data["nbformat"], data["nbformat_minor"] = 3, 0
    return json.dumps(data).encode()


def _non_utf8(source: Path) -> bytes:
    text = nbformat.writes(_nb(source))
    return (
        text.replace("# YOUR CODE HERE", "# caf\xe9").encode("latin-1", errors="replace")
        + b"\xff\xfe"
    )


def _slow_everywhere(source: Path):
    nb = _nb(source)
    for _ in range(6):
        nb.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(3)"))
    return nb


def build_kinds(course: Path, submissions: Path, listener_port: int) -> list[Kind]:
    """``course`` is the instructor's folder (solutions, gradebook, config) the sandbox must not
    see; ``submissions`` the folder the students' folders go in; ``listener_port`` a local TCP
    port the test watches for connections."""
    own_folder = submissions / "write_outside"
    secrets = [
        course / "solutions" / NOTEBOOK / f"{NOTEBOOK}.ipynb",
        course / "gradebook.db",
        course / "nbgrader_config.py",
    ]
    steal = (
        "import json\n"
        f"_solution = json.load(open({str(secrets[0])!r}))\n"
        "for _cell in _solution['cells']:\n"
        "    if 'def conv1d_matrix(' in ''.join(_cell['source']):\n"
        "        exec(''.join(_cell['source']))\n"
        f"open({str(secrets[1])!r}, 'rb').read()\n"
    )
    write_outside = (
        "import os, pathlib\n"
        "for target in ['/sandbox/agent/pwned.py', '/usr/pwned', "
        f"{str(course / 'pwned.txt')!r}, {str(own_folder / 'pwned.txt')!r}]:\n"
        "    try:\n        pathlib.Path(target).write_text('pwned')\n"
        "    except OSError as e:\n        print(e)\n"
        "pathlib.Path('/tmp/scratch.txt').write_text('private /tmp is fine')\n"
    )
    return [
        Kind("correct", "graded", FULL, "all tests passed", lambda s: _nb(s)),
        Kind(
            "syntax_error",
            "graded",
            FULL - CONV1D_MATRIX_POINTS,
            "SyntaxError",
            _replace_answer(
                "conv1d_matrix", "def conv1d_matrix(weight, n, stride=1, padding=0:\n    return 0"
            ),
        ),
        Kind(
            "exception_at_import",
            "graded",
            FULL,
            "scipy_not_installed",
            _with_cell("import scipy_not_installed\nraise RuntimeError('boom')"),
        ),
        Kind(
            "infinite_loop",
            "partial_timeout",
            FULL,
            "timed out after",
            _with_cell("while True:\n    pass"),
        ),
        Kind(
            "infinite_loop_in_function",
            "partial_timeout",
            FULL - TCONV2D_POINTS,
            "conv_transpose2d_basic timed out",
            _replace_answer(
                "conv_transpose2d",
                "def conv_transpose2d(input, weight, *args, **kwargs):\n"
                "    while True:\n        pass",
            ),
        ),
        Kind("too_slow_overall", "timeout", 0, "time limit", _slow_everywhere),
        Kind("os_exit", "crashed", FULL, "exit code 3", _with_cell("import os\nos._exit(3)")),
        Kind(
            "sigkill_self",
            "crashed",
            FULL,
            "SIGKILL",
            _with_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        ),
        Kind(
            "memory_bomb",
            "graded",
            FULL,
            "MemoryError",
            _with_cell(
                "def bomb():\n    hoard = []\n    while True:\n"
                "        hoard.append(bytearray(64 * 2**20))\nbomb()"
            ),
        ),
        Kind(
            "fork_bomb",
            "partial_timeout",
            FULL,
            "timed out after",
            _with_cell(
                "import os\nwhile True:\n    try:\n        os.fork()\n"
                "    except OSError:\n        pass"
            ),
        ),
        Kind(
            "background_process",
            "graded",
            FULL,
            "",
            _with_cell("import os\nif os.fork() == 0:\n    while True:\n        pass"),
        ),
        Kind(
            "huge_output",
            "graded",
            FULL,
            "",
            _with_cell(
                "import os, sys\nchunk = 'x' * 2**20\nfor _ in range(50):\n    print(chunk)\n"
                "for _ in range(50):\n    os.write(1, chunk.encode())\n"
                "    sys.__stderr__.write(chunk)"
            ),
        ),
        Kind("tests_deleted", "graded", EXPECTED_SCORES["kernel_flipped"], "", _tests_deleted),
        Kind("tests_edited", "graded", EXPECTED_SCORES["kernel_flipped"], "", _tests_edited),
        Kind(
            "tests_to_markdown", "graded", EXPECTED_SCORES["kernel_flipped"], "", _tests_to_markdown
        ),
        Kind("function_renamed", "graded", FULL - TCONV2D_POINTS, "conv_transpose2d", _renamed),
        Kind("invalid_json", "invalid_notebook", 0, "not valid JSON", lambda s: b'{"cells": [,]}'),
        Kind("wrong_nbformat", "invalid_notebook", 0, "wrong nbformat", _wrong_nbformat),
        Kind("non_utf8", "invalid_notebook", 0, "not valid UTF-8", _non_utf8),
        Kind(
            "missing_notebook",
            "missing_notebook",
            0,
            "not found",
            None,
            zip_members={"missing_notebook/notes.txt": b"I forgot to upload it"},
        ),
        Kind(
            "../x", "error", 0, "unsafe student id", zip_members={f"../x/{NOTEBOOK}.ipynb": b"{}"}
        ),
        Kind(
            "/abs",
            "error",
            0,
            "an absolute path",
            zip_members={f"/abs/{NOTEBOOK}.ipynb": b"{}"},
        ),
        Kind(
            ".hidden",
            "error",
            0,
            "unsafe student id",
            zip_members={f".hidden/{NOTEBOOK}.ipynb": b"{}"},
        ),
        Kind(
            "zip_slip",
            "error",
            0,
            "escapes its folder",
            zip_members={
                "zip_slip/../../slipped.txt": b"outside",
                f"zip_slip/{NOTEBOOK}.ipynb": b"{}",
            },
        ),
        Kind("zip_symlink", "error", 0, "symbolic link", symlink_to=str(secrets[0])),
        Kind(
            "read_solutions",
            "graded",
            FULL - CONV1D_MATRIX_POINTS,
            "No such file or directory",
            _replace_answer("conv1d_matrix", steal),
        ),
        Kind("write_outside", "graded", FULL, "", _with_cell(write_outside)),
        Kind(
            "socket",
            "graded",
            FULL,
            "",
            _with_cell(
                "import socket\nfor host in ['127.0.0.1', '1.1.1.1']:\n    try:\n"
                f"        with socket.create_connection((host, {listener_port}), timeout=1) as s:\n"
                "            s.sendall(b'leak')\n"
                "    except OSError as e:\n        print(e)"
            ),
        ),
        Kind(
            "monkeypatch_numpy",
            "graded",
            EXPECTED_SCORES["kernel_flipped"],
            "",
            _with_cell(
                "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                "np.array_equal = lambda *a, **k: True\n"
                "np.testing.assert_allclose = lambda *a, **k: None\n"
                "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)",
                bug="kernel_flipped",
                at=-1,
            ),
        ),
        Kind(
            "monkeypatch_ipython",
            "graded",
            EXPECTED_SCORES["kernel_flipped"],
            "No module named 'IPython'",
            _with_cell(
                "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                "import IPython.core.interactiveshell as s\n"
                "s.InteractiveShell.showtraceback = lambda *a, **k: None",
                bug="kernel_flipped",
            ),
        ),
        Kind(
            "always_true_eq",
            "graded",
            FULL - TCONV1D_POINTS,
            "returned a Liar, not numeric",
            _with_cell(
                "class Liar:\n    def __eq__(self, other):\n        return True\n"
                "    __ne__ = lambda s, o: False\n"
                "def conv_transpose1d(*args, **kwargs):\n    return Liar()",
                at=-1,
            ),
        ),
        Kind(
            "wraps_torch",
            "graded",
            EXPECTED_SCORES["wraps_torch"],
            "No module named 'torch'",
            lambda s: _nb(s, "wraps_torch"),
        ),
        Kind(
            "wraps_torch_prebound",
            "graded",
            EXPECTED_SCORES["wraps_torch_prebound"],
            "",
            lambda s: _nb(s, "wraps_torch_prebound"),
        ),
        Kind(
            "ipython_magics",
            "graded",
            FULL,
            "",
            _with_cell("%matplotlib inline\n!rm -rf /\nx = !ls\n%time y = 1"),
        ),
    ]
