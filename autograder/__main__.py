"""Command line.

    python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT [--workers N] [--force]

Run it from the course root (the folder holding ``nbgrader_config.py``), like nbgrader.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import zipfile
from pathlib import Path

from autograder.assignment import AssignmentError, load_assignment
from autograder.batch import grade_batch
from autograder.results import STATUSES
from autograder.sandbox import Limits, SandboxUnavailable, check_sandbox, discover_layout


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade every submission of an assignment")
    grade.add_argument("assignment", help="assignment name, e.g. transposed_conv")
    grade.add_argument(
        "submissions",
        type=Path,
        help="folder SUBMISSIONS/<student_id>/<notebook>.ipynb, or a .zip of it",
    )
    grade.add_argument(
        "--out", type=Path, required=True, help="output folder (grades.csv, feedback/, results/)"
    )
    grade.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded in parallel (default: cores)",
    )
    grade.add_argument(
        "--force", action="store_true", help="regrade students that already have a result in OUT"
    )
    return parser.parse_args(argv)


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C, ``kill -INT`` and a scheduler's SIGTERM stop the batch however the grader was
    started. A background job of a non-interactive shell, or nohup, starts with SIGINT ignored,
    and Python then installs no KeyboardInterrupt handler of its own: install one explicitly."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupted)


def main(argv: list[str] | None = None) -> int:
    stop_on_signals()
    try:
        return grade(argv)
    except KeyboardInterrupt:  # before grading started: nothing to save
        print("interrupted", file=sys.stderr)
        return 130


def grade(argv: list[str] | None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    limits = Limits.from_env()
    try:
        assignment = load_assignment(args.assignment, Path.cwd())
        layout = discover_layout()
        protections = check_sandbox(layout, limits)
    except (AssignmentError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("sandbox protections:", *protections.describe(), sep="\n  ", file=sys.stderr)
    try:
        results = grade_batch(
            assignment, args.submissions, args.out, args.workers, args.force, layout, limits
        )
    except (FileNotFoundError, ValueError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"{len(results)} students: {summary or 'none'}; grades in {args.out / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
