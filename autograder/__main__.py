"""Command line.

    python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT [--workers N] [--force]
                               [--book-url URL]
    python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT --scheduler tls://HOST:8786 \
        --tls-ca-file ca.pem --tls-cert client.pem --tls-key client.key
    python -m autograder grade ASSIGNMENT SUBMISSIONS --out OUT --cluster slurm \
        --cluster-config slurm.yaml --jobs 4
    python -m autograder report OUT

Run it from the course root (the folder holding ``nbgrader_config.py``), like nbgrader.
``grade`` ends by writing the class report (OUT/report.html, OUT/report.csv); ``report``
writes it again from OUT's grades and results alone.

Ctrl-C (SIGINT) or SIGTERM stops a batch at any moment, however the grader was started; the
exit status is then 128 + the signal's number (130, 143). Every result finished before the
signal is kept, and the same command run again grades only the students still missing.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import sys
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    grade.add_argument(
        "--book-url",
        help="root URL of the course's published book, which the feedback pages link into "
        "(default: the relative path from a feedback page to the course's _build/html/)",
    )
    dask = grade.add_argument_group(
        "grading on a Dask cluster (this machine stays the only writer of OUT and the gradebook)"
    )
    where = dask.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running `dask scheduler`: tcp://HOST:8786, or tls://HOST:8786 with certificates",
    )
    where.add_argument(
        "--cluster",
        choices=("slurm",),
        help="start the workers as Slurm jobs (dask-jobqueue) for this run",
    )
    dask.add_argument(
        "--cluster-config",
        type=Path,
        metavar="YAML",
        help="SLURMCluster options (cores, memory, queue, walltime, job_script_prologue, ...)",
    )
    dask.add_argument("--jobs", type=int, default=1, help="Slurm jobs to start (default: 1)")
    for flag, what in (
        ("--tls-ca-file", "CA certificate that signed the scheduler's and the workers'"),
        ("--tls-cert", "this client's certificate"),
        ("--tls-key", "this client's private key"),
    ):
        dask.add_argument(flag, type=Path, metavar="PEM", help=what)
    report = commands.add_parser(
        "report", help="write OUT/report.html and OUT/report.csv from a grading run's files"
    )
    report.add_argument("out", type=Path, help="the --out folder of a grade run")
    return parser.parse_args(argv)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; the shell's convention for the exit status is 128 + its number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_status = 128 + signum


def _interrupted(signum, frame):
    # The first signal stops the batch; a second one (an impatient Ctrl-C, a scheduler's
    # repeated SIGTERM) must not interrupt that stop halfway.
    for other in STOP_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


def stop_on_signals() -> None:
    """Ctrl-C, ``kill -INT`` and a scheduler's SIGTERM stop the batch however the grader was
    started. A background job of a non-interactive shell, or nohup, starts with SIGINT ignored,
    and Python then installs no KeyboardInterrupt handler of its own: install one explicitly."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupted)


def leave(status: int) -> None:
    """Exit now. Worker threads may be in the middle of a submission (their sandboxes die with
    this process: bwrap --die-with-parent), and an ordinary exit would wait for each of them to
    finish it; everything the main thread had to clean up was cleaned while the signal's
    exception unwound (the unpacked class, half-written files)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    # Before anything slow (torch and nbgrader take seconds to import): a signal that arrives
    # while they load must stop the grader too.
    stop_on_signals()
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        return report(args.out) if args.command == "report" else grade(args)
    except KeyboardInterrupt as stop:
        print(
            "interrupted: finished results are saved; run the same command again to resume",
            file=sys.stderr,
        )
        leave(getattr(stop, "exit_status", 128 + signal.SIGINT))


def report(out: Path) -> int:
    from autograder.report import write_report

    try:
        write_report(out)
    except FileNotFoundError as exc:
        print(f"error: no grading run in {out} ({exc.strerror}: {exc.filename})", file=sys.stderr)
        return 2
    print(f"class report in {out / 'report.html'} and {out / 'report.csv'}")
    return 0


def _site_root(url: str | None) -> str | None:
    """The book's root as the links need it: ending with exactly one slash."""
    return None if not url else url.rstrip("/") + "/"


def grade(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.jobs < 1:
        print("error: --workers and --jobs must be at least 1", file=sys.stderr)
        return 2
    # A cluster is reached first, before nbgrader and the grader load (seconds of CPU, far
    # more on a busy machine): an unreachable scheduler is said within 15 s.
    with _pool(args) as pool_for:
        # Imported here, after main() installed the signal handlers: they load nbgrader (and,
        # grading locally, torch).
        import zipfile

        from autograder.assignment import AssignmentError, load_assignment
        from autograder.batch import BatchStopped, NotAllGraded, grade_batch
        from autograder.sandbox import Limits, SandboxUnavailable

        try:
            assignment = load_assignment(args.assignment, Path.cwd())
            pool = pool_for(assignment, Limits.from_env())
            results = grade_batch(
                assignment,
                args.submissions,
                args.out,
                args.force,
                pool,
                _site_root(args.book_url),
            )
        except (AssignmentError, SandboxUnavailable, BatchStopped, NotAllGraded) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except (FileNotFoundError, ValueError, zipfile.BadZipFile) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return summarise(args.out, results)


@contextlib.contextmanager
def _pool(args: argparse.Namespace):
    """A function making the batch's pool for (an assignment, its limits)."""
    if not (args.scheduler or args.cluster):
        yield functools.partial(_local_pool, args.workers)
        return
    from autograder import cluster

    def dask_pool(client, where: str):
        def make(assignment, limits):
            print(where, file=sys.stderr)
            return cluster.DaskPool(client, assignment, limits)

        return make

    slurm = None
    try:
        tls = cluster.security(
            args.tls_ca_file, args.tls_cert, args.tls_key, every_role=bool(args.cluster)
        )
        if args.cluster:
            slurm = cluster.slurm_cluster(args.cluster_config, args.jobs, tls)
            where = f"grading on {args.jobs} Slurm job(s), scheduler {slurm.scheduler_address}"
        else:
            where = f"grading on the Dask scheduler at {args.scheduler}"
        client = cluster.connect(slurm or args.scheduler, tls)
    except (cluster.SchedulerUnreachable, ValueError, OSError) as exc:
        if slurm is not None:
            slurm.close()
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    with _closing(slurm or contextlib.nullcontext()), _closing(client):
        yield dask_pool(client, where)


@contextlib.contextmanager
def _closing(thing):
    """Close a Dask client or cluster at the end, but not when a stop signal ends the run: the
    grader then leaves at once (see leave()), and the scheduler drops a vanished client's
    tasks by itself (Slurm ends the jobs at their walltime)."""
    try:
        yield thing
    except KeyboardInterrupt:
        raise
    except BaseException:
        _close(thing)
        raise
    _close(thing)


def _close(thing) -> None:
    close = getattr(thing, "close", None)
    if close is not None:
        close()


def _local_pool(workers: int, assignment, limits):
    from autograder.batch import LocalPool
    from autograder.sandbox import check_sandbox, discover_layout

    layout = discover_layout()
    protections = check_sandbox(layout, limits)
    print("sandbox protections:", *protections.describe(), sep="\n  ", file=sys.stderr)
    return LocalPool(assignment, workers, layout, limits)


def summarise(out: Path, results) -> int:
    from autograder.results import STATUSES

    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"{len(results)} students: {summary or 'none'}; grades in {out / 'grades.csv'}")
    try:
        return report(out)
    except Exception as exc:  # noqa: BLE001 - every grade is saved by now; the batch succeeded
        print(
            f"warning: the class report was not written ({exc!r}); every grade is saved. "
            f"Write it with: python -m autograder report {out}",
            file=sys.stderr,
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())
