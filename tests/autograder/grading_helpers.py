"""Helpers for the autograder tests: the real command in a subprocess, and its outputs."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import nbformat

from autograder.sandbox import Limits
from testkit.mutants import MAX_SCORE
from testkit.processes import process_tree, stop

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ASSIGNMENT = "transposed_conv"
# A short cell limit keeps endless cells quick; each adversarial cell still has a clear margin
# to it. A whole submission gets the grader's own limit: a loaded machine stretches a notebook's
# wall time, and a short limit turned crashes and partial timeouts into timeouts (at load 20,
# 16 s was not enough for 17 sandbox restarts, a fork bomb's clean-up or two timed-out cells);
# the corpus, which has a kind about that limit, sets its own (autograder_corpus). The memory
# budget is small so that exceeding it (memory_bomb) is quick; a correct submission needs
# about 150 MB.
LIMITS = {
    "AUTOGRADER_CELL_TIMEOUT": "4",
    "AUTOGRADER_SUBMISSION_TIMEOUT": f"{Limits().submission_seconds:g}",
    "AUTOGRADER_MEMORY_MB": "640",
}


def source_notebook(course: Path) -> Path:
    return course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def hidden_test_lines(course: Path) -> list[str]:
    """Distinctive lines of the source's hidden tests (which no feedback may show)."""
    from testkit.notebooks import hidden_test_lines as lines_only_hidden_tests_contain

    lines = lines_only_hidden_tests_contain([source_notebook(course)], min_length=20)
    assert lines, "the source notebook has no hidden tests to look for"
    return lines


def visible_text(html: str) -> str:
    """What a reader of an HTML page sees: tags (e.g. syntax highlighting) removed."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def grader_env(**extra: str) -> dict[str, str]:
    """The venv first on PATH (nbgrader runs alembic), the repo importable, short limits."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env.update(LIMITS)
    env.update(extra)
    return env


def nbgrader(course: Path, *args: str) -> None:
    """Run ``nbgrader ARGS`` in a course folder, as an instructor does; it must succeed."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course,
        env=grader_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def generate_assignment(course: Path) -> None:
    """``nbgrader generate_assignment`` in a course folder: the release and the gradebook."""
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")


def grade_command(submissions: Path, out: Path, *flags: str) -> list[str]:
    """``python -m autograder grade`` as an instructor types it."""
    return [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        ASSIGNMENT,
        str(submissions),
        "--out",
        str(out),
        *flags,
    ]


def grade(course: Path, submissions: Path, out: Path, *flags: str, env=None, **kwargs):
    """Run the grade command from the course root and wait for it."""
    return subprocess.run(
        grade_command(submissions, out, *flags),
        cwd=course,
        env=env or grader_env(),
        capture_output=True,
        text=True,
        **kwargs,
    )


def read_grades(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def read_result(out: Path, student_id: str) -> dict:
    return json.loads((out / "results" / f"{student_id}.json").read_text("utf-8"))


def write_student(folder: Path, student_id: str, notebook) -> None:
    """``notebook`` is a NotebookNode, or raw bytes for deliberately broken files."""
    path = folder / student_id / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)


def zip_folder(
    folder: Path, archive: Path, raw_members: dict[str, bytes], symlinks: dict[str, str]
) -> None:
    """Zip a submissions folder, then add members no honest folder could contain."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
        for name, data in raw_members.items():
            info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        for name, target in symlinks.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK: a symlink member
            zf.writestr(info, target)


def damage_member(archive: Path, name: str) -> None:
    """Invert one byte in the middle of a member's stored data (its CRC no longer matches)."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(name)
    data = bytearray(archive.read_bytes())
    name_length, extra_length = (
        int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little"),
        int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little"),
    )
    data[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0xFF
    archive.write_bytes(bytes(data))


FORMGRADER_TOKEN = "review"


@contextlib.contextmanager
def formgrader(course: Path) -> Iterator[str]:
    """A Jupyter server with nbgrader's formgrader for ``course`` on a free local port; its
    base URL (token ``FORMGRADER_TOKEN``). Stopped when the block ends, even on failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(BIN / "jupyter-server"),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--allow-root",
            f"--ServerApp.token={FORMGRADER_TOKEN}",
            f"--ServerApp.root_dir={course}",
        ],
        cwd=course,
        env=grader_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


def get_page(url: str, seconds: float = 90) -> str:
    """GET a page of a server that may still be starting."""
    end = time.monotonic() + seconds
    while True:
        try:
            return urllib.request.urlopen(url, timeout=30).read().decode()
        except urllib.error.HTTPError:
            raise  # the server answered: a 404 is a real failure, not a slow start
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
def write_corpus(course: Path, kinds, folder: Path, archive: Path) -> Path:
    """Each kind's student folder under ``folder``, zipped into ``archive`` with the raw
    members, symlinks and damaged data no honest folder could contain."""
    raw, links = {}, {}
    for kind in kinds:
        if kind.notebook is not None:
            write_student(folder, kind.student_id, kind.notebook(source_notebook(course)))
        raw.update(kind.zip_members)
        if kind.symlink_to:
            links[f"{kind.student_id}/{ASSIGNMENT}.ipynb"] = kind.symlink_to
    zip_folder(folder, archive, raw, links)
    for kind in kinds:
        if kind.damaged_member:
            damage_member(archive, kind.damaged_member)
    return archive


def explanation(out: Path, student_id: str, row: dict) -> str:
    """The CSV message plus, for safe ids, every per-cell message and cell error."""
    path = out / "results" / f"{unicodedata.normalize('NFC', student_id)}.json"
    if row["status"] == "error" or not path.exists():
        return row["message"]
    notebooks = json.loads(path.read_text("utf-8"))["notebooks"]
    return row["message"] + json.dumps(notebooks, ensure_ascii=False)


def check_kind(kinds, out: Path, student_id: str) -> None:
    """The kind's grade row in ``out`` has its status, score and message."""
    kind = next(k for k in kinds if k.student_id == student_id)
    row = read_grades(out)[kind.row_id]
    assert (row["status"], float(row["score"])) == (kind.status, kind.score), (kind.student_id, row)
    assert float(row["max_score"]) == MAX_SCORE
    assert row["assignment"] == ASSIGNMENT
    assert kind.message in explanation(out, kind.student_id, row), row


class Listener:
    """A local TCP port no submission may reach; ``reached()`` says whether one did."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]

    def reached(self) -> bool:
        try:
            self.socket.accept()
            return True
        except BlockingIOError:
            return False
        finally:
            self.socket.close()


def wait_until(condition, seconds: float, what: str, process: subprocess.Popen | None = None):
    """Poll ``condition`` until it returns something true (which is returned); fail saying
    ``what`` was awaited after ``seconds``, or as soon as ``process`` has ended."""
    end = time.monotonic() + seconds
    while not (value := condition()):
        assert process is None or process.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < end, f"no {what} after {seconds:g} s"
        time.sleep(0.02)
    return value


# --- Watching a grader process from outside, through /proc (see testkit.processes) -------


def signals_caught(pid: int) -> set[signal.Signals]:
    """The signals ``pid`` has a handler for (its SigCgt mask)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    mask = int(next(line for line in status if line.startswith("SigCgt:")).split()[1], 16)
    return {s for s in signal.Signals if mask >> (s - 1) & 1}


def sandbox_has_file(grader_pid: int, name: str) -> bool:
    """Whether a process the grader started, with a root of its own (a sandbox), has ``/tmp/name``
    (its private /tmp: a file a student's cell wrote there says that cell is running)."""
    own_root = os.stat("/")
    for pid in process_tree(grader_pid):
        root = Path(f"/proc/{pid}/root")
        try:
            if os.path.samestat(os.stat(root), own_root):
                continue
            if (root / "tmp" / name).exists():
                return True
        except OSError:
            continue  # ended meanwhile
    return False
