"""Benchmark (not a test): what recording a class's scores costs a PostgreSQL gradebook, before
(a transaction per student and a query per graded cell: autograder/gradebook.py as of
BEFORE_REVISION, read from git) and now (a transaction per group of students), side by side in
one run, each on a fresh database of one throwaway server.

    .venv/bin/python benchmarks/gradebook_writes.py [--students 1000] [--group 100]

For a first recording (students the gradebook has not seen) and a recording again with other
scores (what --force does), it prints per student: statements sent (round trips: an
executemany is one, with psycopg's pipeline), commits, and milliseconds. The server keeps
PostgreSQL's durable defaults (an fsync per commit), as a real one does, and runs on this
machine: over a network, every round trip also costs the network's latency, estimated at the
end for 1 ms.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
import types
from pathlib import Path

from autograder import gradebook
from autograder.assignment import load_assignment
from testkit.gradebook import Statements, scored_results
from testkit.postgres import postgres_server, unavailable_reason

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "transposed_conv"

# main before the grouped writes, whose gradebook.record took one student
BEFORE_REVISION = "0dfc40eb1c1d98b7629f4fd4e3e6482f6493d2d2"
LATENCY_MS = 1.0  # a database on another machine of the same network


def gradebook_before() -> types.ModuleType:
    """The old autograder.gradebook, from git (its record takes one result)."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{BEFORE_REVISION}:autograder/gradebook.py"],
        capture_output=True, text=True, check=True,
    ).stdout
    module = types.ModuleType("gradebook_before")
    exec(compile(source, "gradebook_before.py", "exec"), module.__dict__)
    return module


def measure(record_all, url: str, assignment, students: list[str]) -> dict[str, tuple]:
    """Per student (statements, commits, ms) for a first recording and a recording again."""
    assignment = dataclasses.replace(assignment, db_url=url)
    costs = {}
    with gradebook.open_gradebook(assignment) as gb:
        sent = Statements(gb.engine)
        for phase, passed in (("first", 2), ("again", 5)):
            results = scored_results(assignment, students, passed)
            sent.reset()
            start = time.perf_counter()
            record_all(gb, assignment, results)
            elapsed = time.perf_counter() - start
            n = len(students)
            costs[phase] = (sent.statements / n, sent.commits / n, 1000 * elapsed / n)
    return costs


def per_student(module):
    def record_all(gb, assignment, results):
        for result in results:
            module.record(gb, assignment, result)

    return record_all


def in_groups(size: int):
    def record_all(gb, assignment, results):
        for start in range(0, len(results), size):
            gradebook.record(gb, assignment, results[start : start + size])

    return record_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--group", type=int, default=gradebook.GROUP_SIZE)
    args = parser.parse_args()
    if reason := unavailable_reason():
        sys.exit(reason)
    assignment = load_assignment(ASSIGNMENT, REPO)
    cells = sum(len(nb.tests) for nb in assignment.notebooks)
    students = [f"student{n:05d}" for n in range(args.students)]
    modes = {
        "before: a transaction per student": per_student(gradebook_before()),
        "now: groups of 1 (an idle pool)": in_groups(1),
        f"now: groups of {args.group}": in_groups(args.group),
    }
    print(f"{args.students} students, {cells} graded cells each; PostgreSQL with fsync on")
    with postgres_server(durable=True) as server:
        costs = {
            mode: measure(record_all, server.create_database(f"bench{n}"), assignment, students)
            for n, (mode, record_all) in enumerate(modes.items())
        }
    head = f"{'per student':36}" + "".join(
        f"{phase + ': stmts  commits     ms':>32}" for phase in ("first", "again"))
    print(head)
    for mode, phases in costs.items():
        print(f"{mode:36}" + "".join(
            f"{s:>19.2f} {c:>8.3f} {ms:>8.2f}" for s, c, ms in phases.values()))
    before, grouped = costs[next(iter(modes))], costs[f"now: groups of {args.group}"]
    for phase in ("first", "again"):
        (s0, _, ms0), (s1, _, ms1) = before[phase], grouped[phase]
        wire = lambda stmts: stmts * args.students * LATENCY_MS / 1000  # noqa: E731
        print(f"{phase}: {s0 / s1:.0f}x fewer statements, {ms0 / ms1:.1f}x less time here; "
              f"at {LATENCY_MS:g} ms a round trip, {args.students} students spend "
              f"{wire(s0):.1f} s on the wire before, {wire(s1):.2f} s now")


if __name__ == "__main__":
    main()
