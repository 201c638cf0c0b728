"""Grading through a real Dask cluster (`dask scheduler`, two `dask worker` processes, mutual
TLS, on 127.0.0.1): faults cost no grade and record no false zero, the client stays the only
writer, the workers build the cases once, and a client without the certificate is refused.
The corpus through --scheduler is compared with the local pool in test_autograder_corpus.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dask_cluster import certificate_authority, client_flags
from grading_helpers import (
    grade,
    grade_command,
    grader_env,
    process_tree,
    read_grades,
    source_notebook,
    wait_until,
    write_student,
)

from testkit.mutants import EXPECTED_SCORES, make_submission

BUGS = [None, "kernel_flipped", "stride_ignored", "only_1d", None, "bias_ignored"]
UNREACHABLE_SECONDS = 15.0
STOP_SECONDS = 2.0


def _class(course: Path, folder: Path, copies: int = 1) -> dict[str, float]:
    """Students with known bugs; their expected scores (what a clean run gives)."""
    expected = {}
    for number in range(copies * len(BUGS)):
        bug = BUGS[number % len(BUGS)]
        student = f"student{number:02d}"
        write_student(folder, student, make_submission(source_notebook(course), bug))
        expected[student] = EXPECTED_SCORES[bug]
    return expected


def _scores(out: Path) -> dict[str, float]:
    return {s: float(row["score"]) for s, row in read_grades(out).items()}


def _statuses(out: Path) -> set[str]:
    return {row["status"] for row in read_grades(out).values()}


def _results(out: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in (out / "results").glob("*.json")}


def _flags(cluster) -> list[str]:
    return ["--scheduler", cluster.address, *client_flags(cluster.certs)]


def _start(course: Path, folder: Path, out: Path, cluster, **env: str) -> subprocess.Popen:
    log = out.parent / f"{out.name}.log"
    with open(log, "a") as output:
        process = subprocess.Popen(
            grade_command(folder, out, *_flags(cluster)),
            cwd=course,
            env=grader_env(**env),
            stdout=output,
            stderr=output,
        )
    process.log = log
    return process


def _worker_grading(cluster) -> int | None:
    """The pid of a worker process that has a sandbox running right now, or None."""
    for worker in cluster.workers:
        pid = cluster.worker_process(worker)
        if any(b"bwrap" in _command(child) for child in process_tree(pid)):
            return pid
    return None


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_nothing(course, dask_cluster, tmp_path):
    """SIGKILL a worker while it grades: its submission runs elsewhere (its nanny starts a new
    worker), every student gets exactly one row, the scores are a clean run's."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    expected = _class(course, folder, copies=2)
    grader = _start(course, folder, out, dask_cluster)
    wait_until(lambda: _results(out), 600, "a first result", grader)
    victim = wait_until(lambda: _worker_grading(dask_cluster), 300, "a worker grading", grader)
    os.kill(victim, signal.SIGKILL)
    assert grader.wait(timeout=900) == 0, grader.log.read_text()[-3000:]
    assert _scores(out) == expected
    assert _statuses(out) == {"graded"}
    assert sorted(_results(out)) == sorted(expected)
    names = wait_until(lambda: len(dask_cluster.worker_names()) == 2, 300, "the worker's restart")
    assert names


@pytest.mark.slow
def test_a_worker_without_a_sandbox_never_records_a_zero(course, dask_cluster, tmp_path):
    """A third worker whose bubblewrap fails: its tasks fail loudly and are graded on the
    other workers; no student gets an error row or a zero from it."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    expected = _class(course, folder, copies=2)
    broken = dask_cluster.add_worker("broken", AUTOGRADER_BWRAP="/bin/false")
    try:
        run = grade(course, folder, out, *_flags(dask_cluster))
    finally:
        dask_cluster.remove_worker(broken)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "cannot grade" in run.stderr and "graded on other workers" in run.stderr
    assert "cannot start the bubblewrap sandbox" in run.stderr
    assert _scores(out) == expected
    assert _statuses(out) == {"graded"}


@pytest.mark.slow
def test_no_worker_able_to_grade_stops_with_status_2_and_stores_nothing(
    course, dask_cluster, tmp_path
):
    """Limits no sandbox can start with (1 MB of memory): every worker says it cannot grade;
    the batch ends with status 2 and a message, and stores no row for anyone (a re-run with
    workable limits grades them all), rather than a class of zeros."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    _class(course, folder)
    run = grade(
        course, folder, out, *_flags(dask_cluster), env=grader_env(AUTOGRADER_MEMORY_MB="1")
    )
    assert run.returncode == 2, run.stderr[-3000:]
    assert f"{len(BUGS)} students were not graded" in run.stderr
    assert run.stderr.count("graded on other workers") == 2, run.stderr[-3000:]
    assert not _results(out)
    assert read_grades(out) == {}


@pytest.mark.slow
def test_an_interrupted_client_resumes(course, dask_cluster, tmp_path):
    """Ctrl-C the client mid-batch: it stops within 2 s with status 130, nothing half stored;
    the same command again grades only the students still missing."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    expected = _class(course, folder, copies=2)
    grader = _start(course, folder, out, dask_cluster)
    wait_until(lambda: _results(out), 600, "a first result", grader)
    sent = time.monotonic()
    grader.send_signal(signal.SIGINT)
    grader.wait(timeout=60)
    assert time.monotonic() - sent < STOP_SECONDS
    assert grader.returncode == 128 + signal.SIGINT, grader.log.read_text()[-3000:]
    kept = _results(out)
    assert 0 < len(kept) < len(expected)
    assert not list(out.rglob(".*.tmp*"))
    mtimes = {s: (out / "results" / f"{s}.json").stat().st_mtime_ns for s in kept}
    run = grade(course, folder, out, *_flags(dask_cluster))
    assert run.returncode == 0, run.stderr[-3000:]
    assert _scores(out) == expected
    after = {s: (out / "results" / f"{s}.json").stat().st_mtime_ns for s in kept}
    assert after == mtimes, "a result finished before the interruption was graded again"


@pytest.mark.slow
def test_workers_build_the_cases_once(course, dask_cluster, tmp_path):
    """A batch of many submissions: each worker built the judge's cases once (when the grader's
    plugin was set up), never per task."""
    folder, out = tmp_path / "submitted", tmp_path / "out"
    expected = _class(course, folder, copies=2)

    def count_builds():
        import autograder.cases

        original = autograder.cases.build_cases
        calls = []

        def counted(grade_ids):
            calls.append(1)
            return original(grade_ids)

        counted.calls = calls
        autograder.cases.build_cases = counted

    def builds() -> int:
        import autograder.cases

        return len(getattr(autograder.cases.build_cases, "calls", [None, None]))

    with dask_cluster.client() as client:
        client.run(count_builds)
        # Other limits make another grader plugin, which each worker prepares afresh.
        run = grade(course, folder, out, *_flags(dask_cluster),
                    env=grader_env(AUTOGRADER_MEMORY_MB="641"))  # fmt: skip
        counts = client.run(builds)
    assert run.returncode == 0, run.stderr[-3000:]
    assert _scores(out) == expected
    assert sorted(counts.values()) == [1, 1], counts


@pytest.mark.slow
def test_two_workers_on_one_machine_never_share_a_slot(dask_cluster):
    """Both workers hold a sandbox slot at the same moment: two different slots (a slot is a
    sandbox uid and its cgroups), leased machine-wide."""
    from distributed import Event

    def hold_a_slot(mine: str, theirs: str) -> int:
        from autograder.slots import lease_slot

        with lease_slot() as slot:
            Event(mine).set()
            assert Event(theirs).wait(timeout=120), "the other worker never held a slot"
            return slot

    with dask_cluster.client() as client:
        workers = list(client.scheduler_info(n_workers=-1)["workers"])[:2]
        futures = [
            client.submit(hold_a_slot, f"slot-{a}", f"slot-{b}", workers=[w], pure=False)
            for (a, b), w in zip(((0, 1), (1, 0)), workers, strict=True)
        ]
        slots = client.gather(futures)
    assert len(set(slots)) == 2, slots


@pytest.mark.slow
def test_a_client_without_the_certificate_is_refused(course, dask_cluster, tmp_path):
    """The scheduler runs whatever its clients send, so it talks only to clients holding a
    certificate of its CA: none, or one from another CA, is refused (exit status 2)."""
    stranger = certificate_authority(tmp_path / "stranger", "stranger")
    folder, out = tmp_path / "submitted", tmp_path / "out"
    _class(course, folder)
    for flags in ([], client_flags(stranger)):
        started = time.monotonic()
        run = grade(course, folder, out, "--scheduler", dask_cluster.address, *flags)
        assert run.returncode == 2, run.stderr[-3000:]
        assert "cannot reach the Dask scheduler" in run.stderr
        assert time.monotonic() - started < UNREACHABLE_SECONDS
        assert not (out / "results").exists()


def test_an_unreachable_scheduler_is_status_2_within_15_s(tmp_path):
    """Nobody listening: a clear message and status 2 within 15 s, imports included."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago, and nobody took
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "submitted").mkdir()
    started = time.monotonic()
    run = subprocess.run(
        [*grade_command(tmp_path / "submitted", tmp_path / "out"), "--scheduler",
         f"tcp://127.0.0.1:{port}"],
        cwd=tmp_path,
        env=grader_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert run.returncode == 2, run.stderr[-3000:]
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in run.stderr
    assert "Traceback" not in run.stderr
    assert elapsed < UNREACHABLE_SECONDS, f"{elapsed:.1f} s"


def test_the_slurm_job_script_starts_single_threaded_workers(tmp_path):
    """--cluster slurm: dask-jobqueue's job script from the YAML options (no Slurm runs here):
    the options reach #SBATCH lines, the prologue runs first, and each job starts one
    single-threaded worker per core under a nanny."""
    from autograder.cluster import slurm_cluster

    config = tmp_path / "slurm.yaml"
    config.write_text(
        "cores: 16\nmemory: 32GB\nqueue: grading\naccount: course-101\nwalltime: '02:00:00'\n"
        "job_script_prologue: ['source /course/.venv/bin/activate']\n"
        "scheduler_options: {host: 127.0.0.1, dashboard_address: '127.0.0.1:0'}\n"
    )
    with slurm_cluster(config, jobs=0) as cluster:
        script = cluster.job_script()
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    for option in ("-p grading", "-A course-101", "-t 02:00:00", "--cpus-per-task=16"):
        assert f"#SBATCH {option}" in lines, script
    assert "source /course/.venv/bin/activate" in script
    command = lines[-1]
    assert command.startswith(f"{sys.executable} -m distributed.cli.dask_worker tcp://127.0.0.1:")
    assert "--nthreads 1" in command and "--nworkers 16" in command and "--nanny" in command
    assert lines.index("source /course/.venv/bin/activate") < len(lines) - 1


def test_slurm_jobs_use_the_instructors_certificates(tmp_path):
    """With the --tls-* flags, the Slurm cluster's scheduler listens on tls:// and each job's
    workers are given the same CA and certificate (all of them the instructor's processes)."""
    from autograder.cluster import security, slurm_cluster

    certs = certificate_authority(tmp_path / "tls", "slurm")
    config = tmp_path / "slurm.yaml"
    config.write_text(
        "cores: 2\nmemory: 4GB\n"
        "scheduler_options: {host: 127.0.0.1, dashboard_address: '127.0.0.1:0'}\n"
    )
    tls = security(certs["ca"], certs["client_cert"], certs["client_key"], every_role=True)
    with slurm_cluster(config, jobs=0, tls=tls) as cluster:
        script = cluster.job_script()
        address = cluster.scheduler_address
    assert address.startswith("tls://127.0.0.1:")
    command = script.splitlines()[-1]
    assert f" {address} " in command
    assert f"--tls-ca-file {certs['ca']}" in command
    assert f"--tls-cert {certs['client_cert']}" in command
    assert f"--tls-key {certs['client_key']}" in command


def test_slurm_options_must_be_a_mapping(tmp_path):
    from autograder.cluster import slurm_cluster

    config = tmp_path / "slurm.yaml"
    config.write_text("- cores\n")
    with pytest.raises(ValueError, match="mapping of SLURMCluster options"):
        slurm_cluster(config, jobs=0)
