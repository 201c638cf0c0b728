"""A throwaway PostgreSQL server for the gradebook tests and benchmark: Debian's own binaries,
a cluster made by ``initdb`` in a temporary folder, listening on 127.0.0.1 on a free port with a
password of its own, stopped and deleted when the block ends, even on failure.

``initdb`` refuses to run as root, so as root the cluster belongs to Debian's ``postgres`` user
(``setpriv`` switches to it and execs, so the process we hold is the server itself); an ordinary
user runs it as themselves. Its Unix socket lives in the same temporary folder: nothing touches
``/var/run/postgresql`` or another cluster on the machine.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from testkit.paths import traversable

USER = "grader"  # the cluster's superuser, who owns the test databases
START_SECONDS = 60  # a loaded machine (load 10+) may take this long to start a fresh cluster
STOP_SECONDS = 30
PORT_TRIES = 5  # a free port probed, then taken by someone else before the server binds it


def server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: on PATH, else Debian's newest version."""
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    return versions[-1].parent if versions else None


def _server_account() -> pwd.struct_passwd | None:
    """Who runs the server: root hands it to ``postgres``; anyone else runs it themselves."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("postgres")
    return None


def unavailable_reason() -> str | None:
    """Why no throwaway cluster can be made here, or None."""
    if server_binaries() is None:
        return "PostgreSQL's server binaries are not installed (`make sysdeps` installs them)"
    if _server_account() is None:
        return "running as root, and initdb refuses root; there is no `postgres` user to run it"
    return None


@dataclass(frozen=True)
class PostgresServer:
    port: int
    password: str
    folder: Path  # the cluster, its socket and its log

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL (nbgrader's ``db_url``), or with driver="postgresql" a libpq one."""
        return f"{driver}://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", **kwargs):
        import psycopg

        return psycopg.connect(self.url(database, "postgresql"), **kwargs)

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with self.connect(autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_account(account: pwd.struct_passwd, argv: list[str]) -> list[str]:
    if account.pw_uid == os.geteuid():
        return argv
    return ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
            "--init-groups", "--", *argv]


def _initdb(binaries: Path, account: pwd.struct_passwd, folder: Path, password: str) -> Path:
    data = folder / "data"
    secret = folder / "password"
    secret.write_text(password)
    os.chown(secret, account.pw_uid, account.pw_gid)
    secret.chmod(0o600)
    subprocess.run(
        _as_account(account, [
            str(binaries / "initdb"), "--pgdata", str(data), "--username", USER,
            f"--pwfile={secret}", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
            "--no-sync", "--no-instructions",
        ]),
        check=True,
        capture_output=True,
        text=True,
    )
    secret.unlink()
    return data


def _settings(durable: bool) -> list[str]:
    # Tests throw the cluster away: durability is not worth an fsync per commit. The benchmark
    # keeps PostgreSQL's defaults, since a commit's cost is part of what it measures.
    quick = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
    return [arg for setting in ([] if durable else quick) for arg in ("-c", setting)]


def _start(binaries, account, data: Path, folder: Path, port: int, durable: bool):
    log = open(folder / f"server-{port}.log", "w")  # noqa: SIM115 - closed by the caller
    os.chown(log.name, account.pw_uid, account.pw_gid)
    server = subprocess.Popen(
        _as_account(account, [
            str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
            "-k", str(folder), *_settings(durable),
        ]),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C meant for pytest is not the server's to act on
    )
    return server, log


def _wait_ready(server: subprocess.Popen, cluster: PostgresServer) -> bool:
    """True once it accepts a login; False if it ended (e.g. the port was taken meanwhile)."""
    import psycopg

    end = time.monotonic() + START_SECONDS
    while server.poll() is None:
        try:
            cluster.connect(connect_timeout=5).close()
            return True
        except psycopg.OperationalError:
            if time.monotonic() > end:
                raise TimeoutError(f"PostgreSQL not ready after {START_SECONDS} s") from None
            time.sleep(0.1)
    return False


def _stop(server: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT: abort sessions, then exit), SIGKILL if it does not come."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def postgres_server(durable: bool = False) -> Iterator[PostgresServer]:
    """A running throwaway server (see the module's docstring); raises if none can be made."""
    if reason := unavailable_reason():
        raise RuntimeError(reason)
    binaries, account = server_binaries(), _server_account()
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    try:
        # The server's account must reach the folder (root's TMPDIR may be under a 0700 home).
        reachable = nullcontext() if account.pw_uid == os.geteuid() else traversable(folder)
        with reachable:
            os.chown(folder, account.pw_uid, account.pw_gid)
            password = secrets.token_urlsafe(16)
            data = _initdb(binaries, account, folder, password)
            for _ in range(PORT_TRIES):
                cluster = PostgresServer(_free_port(), password, folder)
                server, log = _start(binaries, account, data, folder, cluster.port, durable)
                try:
                    if _wait_ready(server, cluster):
                        yield cluster
                        return
                finally:
                    _stop(server)
                    log.close()
            raise RuntimeError(f"PostgreSQL did not start:\n{Path(log.name).read_text()[-3000:]}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
