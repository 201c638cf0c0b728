"""A bubblewrap sandbox per notebook run, and the judge's side of the conversation with it.

The sandbox sees a read-only filesystem holding only the Python interpreter, its standard
library, numpy and the runner: no torch, no course files, no other submission. It has no
network, a private size-capped /tmp, and runs under CPU-time, address-space, file-size and
process-count limits. When started as root, the student's code runs as an unprivileged uid
(one per worker slot) so that the process-count limit applies to it.

Environment variables (documented in the README): AUTOGRADER_BWRAP (bwrap executable),
AUTOGRADER_CELL_TIMEOUT, AUTOGRADER_SUBMISSION_TIMEOUT (seconds), AUTOGRADER_MEMORY_MB.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import protocol
from autograder.cpu_share import join_in_child, slot_cgroup
from autograder.slots import NoFreeSlot, lease_slot

AGENT_DIR = "/sandbox/agent"
SITE_DIR = "/sandbox/site"
FIRST_SANDBOX_UID = 61000
SEND_SECONDS = 30.0  # a request the runner has not taken after this long means it is stuck


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be created; grading must not go ahead without it."""


class SandboxGone(Exception):
    """The sandboxed process died or closed its pipe; ``reason`` says how."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SandboxTimeout(Exception):
    """The sandboxed process did not answer before the deadline."""


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 10.0
    submission_seconds: float = 120.0
    memory_mb: int = 1024
    processes: int = 64
    file_mb: int = 16
    tmp_mb: int = 64

    @classmethod
    def from_env(cls) -> Limits:
        env = os.environ
        return cls(
            cell_seconds=float(env.get("AUTOGRADER_CELL_TIMEOUT", cls.cell_seconds)),
            submission_seconds=float(
                env.get("AUTOGRADER_SUBMISSION_TIMEOUT", cls.submission_seconds)
            ),
            memory_mb=int(env.get("AUTOGRADER_MEMORY_MB", cls.memory_mb)),
        )


def bwrap_executable() -> str:
    return os.environ.get("AUTOGRADER_BWRAP") or shutil.which("bwrap") or "/usr/bin/bwrap"


@dataclass(frozen=True)
class Layout:
    """Host paths bound read-only into the sandbox (destination == source unless stated)."""

    interpreter: str
    binds: tuple[str, ...]
    hidden: tuple[str, ...]  # host directories inside a bind that are covered by an empty tmpfs
    numpy_dirs: tuple[str, ...]  # bound under SITE_DIR
    agent_files: tuple[str, ...] = field(default=())


def discover_layout() -> Layout:
    """Find exactly what the runner needs: interpreter, stdlib, shared libraries, numpy."""
    interpreter = os.path.realpath(sys.executable)
    stdlib = sysconfig.get_paths()["stdlib"]
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    libpython = [
        str(p)
        for p in Path(libdir).glob("libpython3*.so*")
        if libdir and not libdir.startswith("/usr")
    ]
    system_libs = [
        p for p in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu")
    ]
    binds = [interpreter, stdlib, *libpython, *(p for p in system_libs if os.path.isdir(p))]
    if os.path.exists("/usr/bin/setpriv"):
        binds.append("/usr/bin/setpriv")
    # Third-party packages installed into the interpreter itself (pyenv, system Python) stay
    # out of sight: only numpy is bound, under SITE_DIR.
    hidden = [
        p
        for p in (os.path.join(stdlib, "site-packages"), os.path.join(stdlib, "dist-packages"))
        if os.path.isdir(p)
    ]
    numpy_dir = Path(np.__file__).resolve().parent
    numpy_dirs = [str(numpy_dir)] + [str(p) for p in numpy_dir.parent.glob("numpy.libs")]
    agent = Path(__file__).resolve().parent
    agent_files = (str(agent / "runner.py"), str(agent / "protocol.py"))
    return Layout(interpreter, tuple(binds), tuple(hidden), tuple(numpy_dirs), agent_files)


def _parents(path: str) -> list[str]:
    parts = Path(path).parent.parts
    return [str(Path(*parts[: i + 1])) for i in range(1, len(parts))]


def bwrap_command(layout: Layout, slot: int, limits: Limits, response_fd: int) -> list[str]:
    """The full command: prlimit sets the limits, bwrap builds the sandbox, setpriv drops root."""
    as_root = os.geteuid() == 0
    mounts = []  # (source, destination)
    mounts += [(p, p) for p in layout.binds]
    mounts += [(p, f"{SITE_DIR}/{Path(p).name}") for p in layout.numpy_dirs]
    mounts += [(p, f"{AGENT_DIR}/{Path(p).name}") for p in layout.agent_files]
    args = [bwrap_executable(), "--die-with-parent", "--new-session", "--clearenv"]
    args += [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if not as_root:
        args += ["--unshare-user"]
    created: set[str] = set()
    # bwrap creates missing parent directories as 0700, unreadable once we drop root.
    for _, destination in mounts:
        for parent in _parents(destination):
            if parent not in created and parent not in ("/usr", "/usr/lib", "/usr/bin"):
                created.add(parent)
                args += ["--perms", "0755", "--dir", parent]
    args += ["--perms", "0755", "--dir", "/usr", "--perms", "0755", "--dir", "/usr/lib"]
    args += ["--perms", "0755", "--dir", "/usr/bin"]
    for source, destination in mounts:
        args += ["--ro-bind", source, destination]
    for path in layout.hidden:
        args += ["--tmpfs", path]
    args += ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "01777", "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp"]
    args += ["--chdir", "/tmp"]
    for key, value in {
        "HOME": "/tmp",
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }.items():
        args += ["--setenv", key, value]
    python = [
        layout.interpreter,
        "-I",
        "-S",
        "-B",
        f"{AGENT_DIR}/runner.py",
        str(response_fd),
        SITE_DIR,
    ]
    if as_root:
        uid = str(FIRST_SANDBOX_UID + slot)
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
        args += ["/usr/bin/setpriv", "--reuid", uid, "--regid", uid, "--clear-groups"]
        args += ["--inh-caps=-all", "--bounding-set=-all", *python]
    else:
        args += ["--", *python]
    cpu = int(limits.submission_seconds) + 5
    prlimit = [
        shutil.which("prlimit") or "/usr/bin/prlimit",
        f"--as={limits.memory_mb << 20}",
        f"--cpu={cpu}",
        f"--fsize={limits.file_mb << 20}",
        f"--nproc={_process_limit(limits, as_root)}",
        "--nofile=256",
        "--core=0",
    ]
    return [*prlimit, "--", *args]


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                continue  # exited meanwhile
    return pids


def _wait_until_gone(uid: int, seconds: float = 5.0) -> None:
    """The kernel tears a pid namespace down asynchronously; the next sandbox of this slot
    must not start while leftovers still count against its process limit."""
    end = time.monotonic() + seconds
    while _processes_of(uid) and time.monotonic() < end:
        time.sleep(0.02)


def _process_limit(limits: Limits, as_root: bool) -> int:
    """RLIMIT_NPROC counts every process of the uid. As root the sandbox gets its own uid;
    otherwise it shares the grader's, so the grader's current processes are added on top."""
    return limits.processes if as_root else limits.processes + len(_processes_of(os.getuid()))


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.Signals._value2member_map_:
        return f"killed by {signal.Signals(code - 128).name}"
    return f"exit code {code}"


class Sandbox:
    """One sandboxed runner process. Always use as a context manager: exit kills it all."""

    def __init__(self, layout: Layout, slot: int, limits: Limits):
        self.uid = FIRST_SANDBOX_UID + slot if os.geteuid() == 0 else None
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                bwrap_command(layout, slot, limits, write_end),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(write_end,),
                start_new_session=True,
                preexec_fn=join_in_child(slot_cgroup(slot)),
            )
        finally:
            os.close(write_end)
        self.responses = read_end
        self.buffer = bytearray()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        if self.uid is not None:
            _wait_until_gone(self.uid)
        if self.responses >= 0:
            os.close(self.responses)
            self.responses = -1
        if self.process.stdin:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def send(self, header: dict, arrays=(), deadline: float | None = None) -> None:
        """Write one request; a runner that stops reading cannot block the judge forever."""
        data = memoryview(protocol.encode(header, list(arrays)))
        end = deadline if deadline is not None else time.monotonic() + SEND_SECONDS
        fd = self.process.stdin.fileno()
        while data:
            remaining = end - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise SandboxTimeout
            try:
                data = data[os.write(fd, data[: 1 << 16]) :]
            except OSError as exc:  # BrokenPipeError: the runner is gone
                raise SandboxGone(self.exit_reason()) from exc

    def exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "closed its connection to the grader"
        return describe_exit(code)

    def _read(self, n: int, deadline: float) -> bytes:
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxTimeout
            ready, _, _ = select.select([self.responses], [], [], remaining)
            if not ready:
                raise SandboxTimeout
            chunk = os.read(self.responses, 1 << 20)
            if not chunk:
                raise SandboxGone(self.exit_reason())
            self.buffer += chunk
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def receive(self, deadline: float) -> tuple[dict, list[np.ndarray]]:
        """Next message, or SandboxTimeout / SandboxGone; malformed data counts as gone."""
        try:
            header = json.loads(self._read(protocol.frame_sizes(self._read(4, deadline)), deadline))
            if not isinstance(header, dict):
                raise protocol.ProtocolError("header is not an object")
            arrays = protocol.decode_arrays(
                header, self._read(protocol.payload_size(header), deadline)
            )
        except (SandboxTimeout, SandboxGone):
            raise
        except Exception as exc:  # any bytes at all may arrive: e.g. a 2**70 dimension
            # (OverflowError), a list as dtype (TypeError), deep nesting (RecursionError)
            raise SandboxGone(f"sent malformed data to the grader ({exc})") from exc
        return header, arrays


def check_sandbox(layout: Layout, limits: Limits) -> None:
    """Start one sandbox and talk to it; refuse to grade if that does not work."""
    executable = bwrap_executable()
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        raise SandboxUnavailable(
            f"bubblewrap not found at {executable} (apt-get install bubblewrap)"
        )
    try:
        with lease_slot() as slot, Sandbox(layout, slot, limits) as box:
            header, _ = box.receive(time.monotonic() + 30)
            if header.get("event") != "ready":
                raise SandboxUnavailable(f"unexpected first message {header!r}")
            probe = (
                "import importlib.util as u\nassert u.find_spec('torch') is None, 'torch visible'"
            )
            box.send({"op": "run_cells", "cells": [{"index": 0, "source": probe}]})
            events = [box.receive(time.monotonic() + 30)[0] for _ in range(3)]
            if events[1].get("error"):
                raise SandboxUnavailable(f"sandbox self-check failed: {events[1]['error']}")
    except (SandboxGone, SandboxTimeout, OSError, NoFreeSlot) as exc:
        raise SandboxUnavailable(
            f"cannot start the bubblewrap sandbox with {executable}: {exc}; refusing to grade "
            "without it"
        ) from exc
