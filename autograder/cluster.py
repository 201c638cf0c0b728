"""Grading on a Dask cluster: ``grade --scheduler tcp://HOST:8786`` (or ``tls://``), or a Slurm
cluster started for the run (``--cluster slurm``, through dask-jobqueue).

One task grades one student, with the same :func:`autograder.batch.grade_submission` the
local threads call. A submission travels to its worker as bytes (no shared filesystem) and
comes back as the result's JSON; this process stays the only writer of the output folder and
the gradebook. A :class:`GraderPlugin` on every worker, including workers that join later,
builds the judge's cases (torch) and checks that a sandbox starts, once per worker. On the
worker, a task only talks to the sandbox; student code runs inside bubblewrap, never in the
worker's process. Sandbox slots (uid and cgroups) are leased machine-wide
(:mod:`autograder.slots`), so several workers on one machine never share one.

A worker that cannot grade (no sandbox, other grader code than this client's) raises
:class:`autograder.batch.GradeElsewhere`: the batch sends the submission to another worker and
never records it as the student's zero.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import threading
import time
from pathlib import Path

from distributed import Client, Security, get_worker
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.utils import CancelledError

# Only Dask at import: the command connects to the scheduler before it loads nbgrader and the
# grader (seconds of CPU), which these functions import when they run.

# Under "distributed": the worker's own log handler and level (INFO) apply.
LOG = logging.getLogger("distributed.worker.autograder")
# The whole command must say that the scheduler cannot be reached within 15 s, imports included.
CONNECT_SECONDS = 5
WINDOW_REFRESH_SECONDS = 2.0
RETRY_PREPARE_SECONDS = 60.0


class SchedulerUnreachable(RuntimeError):
    """No Dask scheduler answered at the address (or it refused this client)."""


def security(
    ca_file: Path | None, cert: Path | None, key: Path | None, every_role: bool = False
) -> Security:
    """Mutual TLS from the flags, or else from Dask's own configuration
    (``distributed.comm.tls.*`` in ~/.config/dask/*.yaml or DASK_DISTRIBUTED__COMM__TLS__*).
    ``every_role``: the certificate is also the scheduler's and the workers' (a Slurm cluster
    started by this command, all of it the instructor's own processes)."""
    if not (ca_file or cert or key):
        return Security()
    paths = {"cert": str(cert) if cert else None, "key": str(key) if key else None}
    roles = ("client", "scheduler", "worker") if every_role else ("client",)
    return Security(
        tls_ca_file=str(ca_file) if ca_file else None,
        require_encryption=True,
        **{f"tls_{role}_{part}": path for role in roles for part, path in paths.items()},
    )


def connect(address, tls: Security) -> Client:
    """A client of the scheduler at ``address`` (or of a cluster object), or
    SchedulerUnreachable within CONNECT_SECONDS."""
    try:
        return Client(address, security=tls, timeout=CONNECT_SECONDS, set_as_default=False)
    except Exception as exc:  # refused, timed out, TLS handshake or configuration errors
        hint = ""
        if str(address).startswith("tls://"):
            hint = " (a tls:// scheduler needs --tls-ca-file, --tls-cert and --tls-key)"
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address}{hint}: {type(exc).__name__}: {exc}"
        ) from None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class GraderPlugin(WorkerPlugin):
    """What a worker needs to grade one assignment: the judge's cases, the sandbox's files on
    this machine, and a sandbox known to start. Prepared once per worker, at registration or
    when the worker joins; a problem is remembered (and logged) rather than raised, so that the
    worker's tasks can say it and go elsewhere."""

    idempotent = True  # a second run with the same grader reuses what the workers built

    def __init__(self, assignment, limits, fingerprint: str):
        self.assignment, self.limits, self.fingerprint = assignment, limits, fingerprint
        digest = hashlib.sha256(f"{fingerprint}{limits!r}".encode()).hexdigest()[:12]
        self.name = f"autograder-{assignment.name}-{digest}"
        self._reset()

    def _reset(self) -> None:
        self.problem: str | None = "not set up on this worker"
        self.cases = self.layout = None
        self.prepared_at = -RETRY_PREPARE_SECONDS
        self.lock = threading.Lock()

    def __getstate__(self) -> dict:
        # What travels to the scheduler and the workers: never a worker's cases or layout.
        keep = ("assignment", "limits", "fingerprint", "name")
        return {key: self.__dict__[key] for key in keep}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset()

    async def setup(self, worker) -> None:
        # In a thread: building the cases and starting a sandbox take seconds, during which
        # the worker must keep answering the scheduler.
        await asyncio.get_running_loop().run_in_executor(None, self.prepare)
        if self.problem:
            LOG.error(
                "autograder: this worker cannot grade %s: %s", self.assignment.name, self.problem
            )

    def ready(self) -> str | None:
        """None when this worker can grade; else why not. A worker that could not prepare
        tries again now and then (the plugin stays registered from run to run, and an
        administrator may have fixed the machine meanwhile)."""
        with self.lock:
            if self.problem and time.monotonic() - self.prepared_at > RETRY_PREPARE_SECONDS:
                self.prepare()
            return self.problem

    def prepare(self) -> None:
        self.prepared_at = time.monotonic()
        from autograder.batch import grading_fingerprint
        from autograder.cases import build_cases  # torch: loaded once, by this worker
        from autograder.sandbox import check_sandbox, discover_layout

        try:
            ours = grading_fingerprint(self.assignment)
            if ours != self.fingerprint:
                raise RuntimeError(
                    f"its grader (cases.py, judge.py, runner.py: {ours}) differs from the "
                    f"client's ({self.fingerprint}); install the same version everywhere"
                )
            self.cases = build_cases([g for nb in self.assignment.notebooks for g in nb.tests])
            self.layout = discover_layout()
            protections = check_sandbox(self.layout, self.limits)
        except Exception as exc:
            self.problem = _describe(exc)
        else:
            self.problem = None
            LOG.info("autograder: sandbox protections:\n  %s", "\n  ".join(protections.describe()))


def grade_on_worker(submission, plugin_name: str) -> dict:
    """The task: one student (a :class:`autograder.batch.Submission`), graded in a slot of this
    machine; the result's JSON."""
    from autograder.batch import GradeElsewhere, grade_submission, in_a_slot
    from autograder.sandbox import SandboxUnavailable
    from autograder.slots import NoFreeSlot

    worker = get_worker()
    grader = worker.plugins.get(plugin_name)
    problem = grader.ready() if grader is not None else "no grader plugin"
    if problem:
        raise GradeElsewhere(worker.address, problem)
    try:
        result = in_a_slot(
            grade_submission,
            submission,
            grader.assignment,
            grader.cases,
            grader.layout,
            grader.limits,
        )
    except (SandboxUnavailable, NoFreeSlot) as exc:
        raise GradeElsewhere(worker.address, _describe(exc)) from None
    return result.to_json()


class DaskPool:
    """The batch's pool (see :class:`autograder.batch.LocalPool`) on a Dask cluster."""

    def __init__(self, client: Client, assignment, limits):
        from autograder.batch import grading_fingerprint

        self.client = client
        self.plugin = GraderPlugin(assignment, limits, grading_fingerprint(assignment))
        client.register_plugin(self.plugin)
        if not self.workers():
            print("no Dask worker has joined the scheduler yet: waiting for one", file=sys.stderr)
        self.warned: set[str] = set()
        self._window, self._window_at = 0, -WINDOW_REFRESH_SECONDS

    def workers(self) -> dict:
        return self.client.scheduler_info(n_workers=-1)["workers"]

    @property
    def window(self) -> int:
        """Two submissions per worker thread, counted again every few seconds: workers join
        (a Slurm job starting) and leave while the batch runs."""
        if time.monotonic() - self._window_at > WINDOW_REFRESH_SECONDS:
            threads = sum(w["nthreads"] for w in self.workers().values())
            self._window, self._window_at = max(2 * threads, 2), time.monotonic()
        return self._window

    def submit(self, submission, avoid: frozenset = frozenset()):
        where = {}
        if avoid:  # a preference, not a restriction: the workers may change meanwhile
            others = [w for w in self.workers() if w not in avoid]
            where = {"workers": others, "allow_other_workers": True}
        return self.client.submit(
            grade_on_worker, submission, self.plugin.name, pure=False, **where
        )

    def outcome(self, future):
        from autograder.batch import BatchStopped, GradeElsewhere
        from autograder.results import StudentResult

        try:
            return StudentResult.from_json(future.result())
        except GradeElsewhere as elsewhere:
            if elsewhere.worker not in self.warned:
                self.warned.add(elsewhere.worker)
                print(
                    f"warning: {elsewhere}; its submissions are graded on other workers",
                    file=sys.stderr,
                )
            raise
        except CancelledError:
            raise BatchStopped(
                "the Dask scheduler dropped this run's tasks (was it restarted?); finished "
                "results are saved: run the same command again to resume"
            ) from None

    def can_grade_avoiding(self, avoid: frozenset) -> bool:
        return bool(set(self.workers()) - avoid)

    def abandon(self) -> None:
        """Nothing to do: when this process leaves, the scheduler forgets its tasks."""

    def close(self) -> None:
        """The plugin stays on the workers for the next run with the same grader."""


def slurm_cluster(config_file: Path | None, jobs: int, tls: Security | None = None):
    """A dask-jobqueue SLURMCluster from a YAML file of its keyword arguments (cores, memory,
    queue, account, walltime, job_script_prologue, ...; dask-jobqueue's own configuration
    ``jobqueue.slurm`` fills in the rest), scaled to ``jobs`` jobs. Unless the file says
    otherwise, each job runs one single-threaded worker per core: a task is one sandbox."""
    import yaml
    from dask_jobqueue import SLURMCluster

    options = yaml.safe_load(config_file.read_text("utf-8")) if config_file else {}
    if not isinstance(options, dict):
        raise ValueError(f"{config_file} must hold a mapping of SLURMCluster options")
    if "cores" in options:
        options.setdefault("processes", options["cores"])
    if tls is not None and tls.require_encryption:
        options.setdefault("security", tls)
        options.setdefault("protocol", "tls://")
    cluster = SLURMCluster(**options)
    cluster.scale(jobs=jobs)
    return cluster
