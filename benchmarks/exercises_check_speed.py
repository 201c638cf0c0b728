"""Benchmark (not a test): how long the exercises' checks take, for students and for nbgrader.

    .venv/bin/python benchmarks/exercises_check_speed.py [--students 15]

Prints, side by side with their budgets:
- the public test cells of a correct submission re-run on a warm kernel (issue budget: 3 s);
- the same cells with the hidden tests too (the source notebook), warm;
- plain `nbgrader autograde` of a class made by testkit/mutants.py in a temporary copy of
  the course: wall time and seconds per submission.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import is_grade

from testkit.mutants import BUGS, make_submission

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "transposed_conv"
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
PUBLIC_BUDGET_S = 3.0
BIN = Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def warm_test_seconds(nb: nbformat.NotebookNode, rounds: int = 3) -> float:
    """Run the whole notebook once, then its graded test cells again: best of ``rounds``."""
    tests = [i for i, c in enumerate(nb.cells) if is_grade(c)]
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for index in tests:
                client.execute_cell(nb.cells[index], index)
            times.append(time.perf_counter() - start)
    errors = [o for i in tests for o in nb.cells[i].outputs if o.output_type == "error"]
    assert not errors, f"a test cell failed: {errors[0].get('evalue')}"
    return min(times)


def autograde_seconds(students: int) -> float:
    """Wall time of one `nbgrader autograde` call over a generated class of ``students``."""
    with tempfile.TemporaryDirectory(prefix="exercises-bench-") as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "nbgrader_config.py", root)
        shutil.copytree(SOURCE.parent, root / "solutions" / ASSIGNMENT)
        run = {"cwd": root, "env": tool_env(), "check": True, "capture_output": True}
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT], **run)
        for number, bug in zip(range(students), itertools.cycle([None, *BUGS]), strict=False):
            folder = root / "submitted" / f"student{number:03d}" / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(make_submission(SOURCE, bug), folder / SOURCE.name)
        start = time.perf_counter()
        subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"], **run)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=15)
    args = parser.parse_args()
    public = warm_test_seconds(make_submission(SOURCE, None))
    hidden = warm_test_seconds(nbformat.read(SOURCE, as_version=4))
    print(f"public tests, warm kernel:          {public:6.2f} s  (budget {PUBLIC_BUDGET_S} s, "
          f"{PUBLIC_BUDGET_S / public:.0f}x headroom)")
    print(f"public + hidden tests, warm kernel: {hidden:6.2f} s")
    wall = autograde_seconds(args.students)
    print(f"nbgrader autograde, {args.students} submissions: {wall:6.1f} s wall, "
          f"{wall / args.students:.2f} s per submission")


if __name__ == "__main__":
    main()
