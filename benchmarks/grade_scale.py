"""Benchmark (not a test): the same class graded by the local pool and through Dask.

    .venv/bin/python benchmarks/grade_scale.py [--students 80]

(a) `python -m autograder grade --workers 2` (today's local pool); (b) the same command with
`--scheduler` on a real `dask scheduler` with one `dask worker --nthreads 1`, then two, all on
this machine (127.0.0.1, free ports, stopped at the end). Each run writes its own output folder
into its own copy of the course. Prints submissions per second, the fixed start-up (the command
on an empty class), Dask's overhead per task (wall time per submission on one worker, minus
the time the grading function itself took), the scaling from one worker to two, whether all
scores agree, and what 5,000 submissions would take on 1, 4 and 16 machines of 16 cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from grade_speed import make_course, run, tool_env  # benchmarks/, this script's folder

from testkit.mutants import BUGS, EXPECTED_SCORES, make_submission

BIN = Path(sys.executable).parent
ASSIGNMENT = "transposed_conv"
GOAL_VS_LOCAL = 0.85  # Dask with 2 workers: at least 85% of the local pool's throughput
GOAL_SCALING = 1.7  # 1 -> 2 workers


def make_class(folder: Path, source: Path, students: int) -> dict[str, str | None]:
    kinds = [None, *BUGS]
    bugs = {}
    for number in range(students):
        bug = kinds[number % len(kinds)]
        student = f"student{number:03d}"
        (folder / student).mkdir(parents=True)
        nbformat.write(make_submission(source, bug), folder / student / f"{ASSIGNMENT}.ipynb")
        bugs[student] = bug
    (folder.parent / "nobody").mkdir()
    return bugs


def scores(out: Path) -> dict[str, float]:
    with open(out / "grades.csv", newline="") as fh:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(fh)}


def grading_seconds(out: Path) -> float:
    """Mean time the grading function took per submission (from the results' ``seconds``)."""
    times = [json.loads(p.read_text())["seconds"] for p in (out / "results").glob("*.json")]
    return sum(times) / len(times)


def store_seconds(course: Path, out: Path, submitted: Path) -> float:
    """Seconds the client takes to store one result (autograded notebook, feedback, gradebook,
    result file, grades.csv) when results arrive one at a time (groups of one, the slowest
    case): the single writer's cost, which bounds a cluster of any size."""
    from autograder import batch
    from autograder.assignment import load_assignment
    from autograder.gradebook import open_gradebook
    from autograder.results import load_result

    assignment = load_assignment(ASSIGNMENT, course)
    fingerprint = batch.grading_fingerprint(assignment)
    with open_gradebook(assignment) as gradebook:
        writer = batch.Batch(assignment, out, gradebook, fingerprint)
        students = batch.collect_students(assignment, submitted, out)
        finished = [
            (s, batch.read_submission(s, assignment),
             load_result(out, s.student_id, ASSIGNMENT, fingerprint))
            for s in students
        ]  # fmt: skip
        started = time.perf_counter()
        for one in finished:
            batch._finish(writer, [one])
        return (time.perf_counter() - started) / len(finished)


class Cluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1; stop() ends them all."""

    def __init__(self, folder: Path):
        self.folder, self.processes = folder, []
        address_file = folder / "scheduler.json"
        self._start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(address_file)]
        )  # fmt: skip
        self.address = self._wait(lambda: json.loads(address_file.read_text())["address"])

    def _start(self, arguments: list[str]) -> None:
        log = open(self.folder / f"dask-{len(self.processes)}.log", "ab")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(
                [str(BIN / "dask"), *arguments],
                env=tool_env(),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        )
        log.close()

    @staticmethod
    def _wait(condition, seconds: float = 300):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                if value := condition():
                    return value
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        sys.exit("the Dask cluster did not start")

    def add_worker(self) -> float:
        """Start one single-threaded worker; the seconds until the scheduler counts it."""
        from distributed import Client

        started = time.perf_counter()
        with Client(self.address, timeout=60, set_as_default=False) as client:
            expected = len(client.scheduler_info(n_workers=-1)["workers"]) + 1
            self._start(
                ["worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard"]
            )  # fmt: skip
            client.wait_for_workers(expected, timeout=300)
        return time.perf_counter() - started

    def remove_last_worker(self) -> None:
        from distributed import Client

        worker = self.processes.pop()
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
        with Client(self.address, timeout=60, set_as_default=False) as client:
            self._wait(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 1)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in self.processes:
            process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=80)
    parser.add_argument(
        "--rounds", type=int, default=2, help="the three runs, in turn, this many times (best kept)"
    )
    args = parser.parse_args()
    n = args.students
    grade = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT]
    labels = {
        "local": "local pool, --workers 2",
        "dask1": "Dask, 1 worker",
        "dask2": "Dask, 2 workers",
    }
    wall, fixed, inside = {}, {}, {}
    agree, loads = True, []
    with tempfile.TemporaryDirectory(prefix="grade-scale-") as tmp:
        tmp = Path(tmp)
        courses = {name: make_course(tmp / name) for name in labels}
        source = courses["local"] / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        bugs = make_class(tmp / "class" / "submitted", source, n)
        expected = {s: EXPECTED_SCORES[bug] for s, bug in bugs.items()}
        submitted, nobody = tmp / "class" / "submitted", tmp / "class" / "nobody"

        def measure(name: str, where: list[str], round_: int) -> None:
            """One run of the class into a new folder (nothing to resume); the best is kept."""
            nonlocal agree
            course, out = courses[name], courses[name] / f"graded-{round_}"
            empty = run([*grade, str(nobody), "--out", str(course / f"empty-{round_}"), *where],
                        course)  # fmt: skip
            seconds = run([*grade, str(submitted), "--out", str(out), *where], course)
            loads.append(os.getloadavg()[0])
            agree &= scores(out) == expected
            if seconds < wall.get(name, float("inf")):
                wall[name], fixed[name], inside[name] = seconds, empty, grading_seconds(out)

        cluster = Cluster(tmp)
        try:
            worker_start = cluster.add_worker()
            scheduler = ["--scheduler", cluster.address]
            # The first run on a new cluster registers the grader's plugin: each worker builds
            # the cases (torch) once. Its cost is the cluster's, paid once, not each run's.
            first_run = run([*grade, str(nobody), "--out", str(tmp / "first"), *scheduler],
                            courses["dask1"])  # fmt: skip
            for round_ in range(args.rounds):  # in turn: the machine's load drifts
                measure("local", ["--workers", "2"], round_)
                measure("dask1", scheduler, round_)
                cluster.add_worker()
                measure("dask2", scheduler, round_)
                cluster.remove_last_worker()
        finally:
            cluster.stop()
        store = store_seconds(courses["local"], courses["local"] / "graded-0", submitted)

    print(
        f"{n} submissions, {os.cpu_count()} cores, best of {args.rounds} rounds; load average "
        f"{min(loads):.1f} to {max(loads):.1f} during the runs (the machine is shared)"
    )
    print(f"{'':28}{'wall s':>8}{'subm/s':>8}{'start-up s':>12}{'s/subm':>8}{'grading s':>11}")
    per = {}
    for name, label in labels.items():
        per[name] = (wall[name] - fixed[name]) / n
        print(f"{label:28}{wall[name]:8.1f}{n / wall[name]:8.2f}{fixed[name]:12.1f}"
              f"{per[name]:8.2f}{inside[name]:11.2f}")  # fmt: skip
    print(
        f"Dask cluster: a worker starts in {worker_start:.1f} s; the first run on it "
        f"{first_run:.1f} s (workers build the cases once)"
    )
    overhead = per["dask1"] - inside["dask1"]
    print(
        f"Dask overhead per task (1 worker: wall per submission - grading function): "
        f"{overhead * 1000:.0f} ms"
    )
    vs_local = (n / wall["dask2"]) / (n / wall["local"])
    scaling = per["dask1"] / per["dask2"]
    print(f"Dask 2 workers vs local pool (throughput): {vs_local:.2f} (goal >= {GOAL_VS_LOCAL})")
    print(f"scaling 1 -> 2 workers (per-submission cost): {scaling:.2f}x (goal >= {GOAL_SCALING}x)")
    print(f"scores agree across all runs and with the expected scores: {agree}")
    # One submission costs per['dask1'] seconds of one core (a single-threaded worker grades
    # one at a time); M machines of 16 cores run 16 M such workers.
    print(f"the client stores one result in {store * 1000:.0f} ms (the single writer)")
    print(
        "on paper, 5,000 submissions, one single-threaded worker per core, each submission "
        f"{per['dask1']:.2f} s of a core, the client storing results as they come:"
    )
    for machines in (1, 4, 16):
        grading = 5000 * per["dask1"] / (16 * machines)
        minutes = (fixed["dask2"] + max(grading, 5000 * store)) / 60
        bound = "the client's writes" if 5000 * store > grading else "the workers"
        print(f"  {machines:2} machine(s) x 16 cores: {minutes:6.1f} min (bound by {bound})")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
