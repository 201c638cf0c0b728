"""A real Dask cluster for the tests: `dask scheduler` and `dask worker` processes on 127.0.0.1,
on free ports, with mutual TLS from a throwaway certificate authority (openssl), all stopped at
the end. Started from the venv's own `dask` command, as an instructor starts them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading_helpers import BIN, grader_env, wait_until

from testkit.processes import process_tree, still_running

STARTUP_SECONDS = 180  # a worker imports torch and builds the cases on a loaded machine


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def certificate_authority(folder: Path, name: str) -> dict[str, Path]:
    """A CA and two certificates it signed: one for the cluster (scheduler and workers, for
    127.0.0.1) and one for a client. Paths by role: ca, cluster_cert, cluster_key, client_cert,
    client_key."""
    folder.mkdir(parents=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name} test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=folder,
    )  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for role in ("cluster", "client"):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name} {role}",
            "-keyout", f"{role}.key", "-out", f"{role}.csr", cwd=folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{role}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", f"{role}.pem",
            cwd=folder,
        )  # fmt: skip
    return {
        "ca": folder / "ca.pem",
        "cluster_cert": folder / "cluster.pem",
        "cluster_key": folder / "cluster.key",
        "client_cert": folder / "client.pem",
        "client_key": folder / "client.key",
    }


def client_flags(certs: dict[str, Path]) -> list[str]:
    """The grade command's flags for a client holding ``certs``' client certificate."""
    return [
        "--tls-ca-file", str(certs["ca"]),
        "--tls-cert", str(certs["client_cert"]),
        "--tls-key", str(certs["client_key"]),
    ]  # fmt: skip


@dataclass
class DaskCluster:
    """A running scheduler and its workers (each a `dask worker` process: a nanny and the
    worker it starts)."""

    folder: Path
    certs: dict[str, Path]
    env: dict[str, str]
    address: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)
    seen: dict[int, str] = field(default_factory=dict)  # every process ever started, for teardown

    def _tls(self) -> list[str]:
        return [
            "--tls-ca-file", str(self.certs["ca"]),
            "--tls-cert", str(self.certs["cluster_cert"]),
            "--tls-key", str(self.certs["cluster_key"]),
        ]  # fmt: skip

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=log, start_new_session=True, cwd=self.folder
        )
        process.log_path = self.folder / f"{name}.log"
        log.close()
        self.processes.append(process)
        return process

    def start_scheduler(self) -> None:
        address_file = self.folder / "scheduler.json"
        command = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"]
        command += ["--protocol", "tls", "--no-dashboard", "--scheduler-file", str(address_file)]
        scheduler = self._start("scheduler", [*command, *self._tls()], self.env)
        wait_until(address_file.exists, STARTUP_SECONDS, "scheduler address file", scheduler)
        self.address = wait_until(
            lambda: _read_address(address_file), 30, "scheduler address", scheduler
        )

    def add_worker(self, name: str, **extra_env: str) -> subprocess.Popen:
        """A `dask worker` as the README starts one (single-threaded), waited for until the
        scheduler counts it."""
        command = [str(BIN / "dask"), "worker", self.address, "--nthreads", "1"]
        command += ["--host", "127.0.0.1", "--no-dashboard", "--name", name, *self._tls()]
        worker = self._start(name, command, {**self.env, **extra_env})
        self.workers.append(worker)
        wait_until(lambda: name in self.worker_names(), STARTUP_SECONDS, f"worker {name}", worker)
        return worker

    def client(self):
        from distributed import Client, Security

        security = Security(
            tls_ca_file=str(self.certs["ca"]),
            tls_client_cert=str(self.certs["client_cert"]),
            tls_client_key=str(self.certs["client_key"]),
            require_encryption=True,
        )
        return Client(self.address, security=security, timeout=30, set_as_default=False)

    def worker_names(self) -> set[str]:
        with self.client() as client:
            return {w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values()}

    def worker_process(self, worker: subprocess.Popen) -> int:
        """The pid of the worker a `dask worker` command's nanny runs (it grades)."""
        children = [
            pid
            for pid in process_tree(worker.pid)
            if _parent(pid) == worker.pid and b"spawn_main" in _command_line(pid)
        ]
        assert len(children) == 1, f"the nanny runs {len(children)} worker processes"
        return children[0]

    def remove_worker(self, worker: subprocess.Popen) -> None:
        self._end(worker)
        self.workers.remove(worker)

    def _end(self, process: subprocess.Popen) -> None:
        with_children = {process.pid: "", **process_tree(process.pid)}
        self.seen.update(process_tree(process.pid))
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        for pid in with_children:  # a child that left the process group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> list[int]:
        """Stop everything; the pids still running afterwards (none, if all is well)."""
        for process in reversed(self.processes):
            if process.poll() is None or process_tree(process.pid):
                self._end(process)
        assert all(p.poll() is not None for p in self.processes)
        wait_until(lambda: not still_running(self.seen), 30, "the cluster's processes to end")
        return still_running(self.seen)


def _parent(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[1])


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _read_address(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


def start_cluster(folder: Path, workers: int, **env: str) -> DaskCluster:
    """A TLS scheduler and ``workers`` workers; the caller stops it (``stop()``)."""
    certs = certificate_authority(folder / "tls", "cluster")
    cluster = DaskCluster(folder, certs, grader_env(**env))
    try:
        cluster.start_scheduler()
        for number in range(workers):
            cluster.add_worker(f"worker{number}")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def wait_for_exit(process: subprocess.Popen, seconds: float) -> float:
    started = time.monotonic()
    process.wait(timeout=seconds)
    return time.monotonic() - started
