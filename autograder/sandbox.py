"""A bubblewrap sandbox per notebook run, and the judge's side of the conversation with it.

The sandbox sees a read-only filesystem holding only the Python interpreter, its standard
library, numpy, the runner and IPython's syntax transformer, all under ``/sandbox``: no torch,
no course files, no other submission, no ``/proc``, nothing that names the host's layout. It
has no network, a private size-capped /tmp, its own pid, IPC and UTS namespaces, a seccomp
filter (:mod:`autograder.seccomp`), and CPU-time, address-space, file-size and process-count
limits. Where the grader may write cgroups (root), the slot's cgroups (:mod:`autograder.cgroups`)
bound the whole submission's memory, processes and CPU; as root the student's code also runs
as an unprivileged uid of its own (one per slot). Without root, bubblewrap builds the sandbox in
an unprivileged user namespace and the memory budget is split across a small process cap.
:func:`check_sandbox` says which of these protections hold.

Environment variables (documented in the README): AUTOGRADER_BWRAP (bwrap executable),
AUTOGRADER_CELL_TIMEOUT, AUTOGRADER_SUBMISSION_TIMEOUT (seconds), AUTOGRADER_MEMORY_MB.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder import protocol, seccomp
from autograder.cgroups import SlotCgroups, slot_cgroups
from autograder.slots import NoFreeSlot, lease_slot

PYTHON_DIR = "/sandbox/python"
SITE_DIR = "/sandbox/site"
AGENT_DIR = "/sandbox/agent"
IPYTHON_DIR = "/sandbox/agent/ipython"
FIRST_SANDBOX_UID = 61000
SANDBOX_OWN_PROCESSES = 2  # bubblewrap's outer process and the namespace's init
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
    memory_mb: int = 1024  # the whole submission: all its processes together
    processes: int = 64  # per sandbox, where a memory cgroup bounds their memory together
    # Without a memory cgroup, memory_mb is split: this many processes, each with
    # memory_mb / processes_without_memory_cgroup of address space.
    processes_without_memory_cgroup: int = 4
    file_mb: int = 16
    tmp_mb: int = 64
    shm_mb: int = 16

    @property
    def scratch_mb(self) -> int:
        """Memory the sandbox's own tmpfs folders (/tmp, /dev/shm) may hold."""
        return self.tmp_mb + self.shm_mb

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


@dataclass(frozen=True)
class MemoryPlan:
    """How the submission's memory budget is enforced, given the slot's cgroups."""

    address_space_mb: int  # per process (RLIMIT_AS)
    processes: int  # per sandbox, the student's own (RLIMIT_NPROC, and pids.max)
    by_cgroup: bool

    def describe(self, limits: Limits) -> str:
        if self.by_cgroup:
            return (
                f"{limits.memory_mb} MB per submission, all processes together (memory cgroup); "
                f"{self.address_space_mb} MB of address space per process"
            )
        return (
            f"{limits.memory_mb} MB per submission as {self.processes} processes x "
            f"{self.address_space_mb} MB of address space and {limits.scratch_mb} MB of "
            "/tmp and /dev/shm (no memory cgroup)"
        )


def cgroups_for(slot: int, limits: Limits) -> SlotCgroups:
    """The slot's cgroups, set to the submission's memory and process bounds."""
    return slot_cgroups(slot, limits.memory_mb << 20, limits.processes + SANDBOX_OWN_PROCESSES)


def memory_plan(limits: Limits, cgroups: SlotCgroups) -> MemoryPlan:
    if "memory" in cgroups.bounds:
        # One process alone meets its address-space limit (a MemoryError it can report)
        # before the group's limit (the kernel's OOM killer), with room left for /tmp and
        # the page cache, which the group is charged for too: a process filling the group
        # to its limit would crawl while the kernel reclaims its own code pages.
        headroom = min(limits.scratch_mb + 128, limits.memory_mb // 4)
        return MemoryPlan(limits.memory_mb - headroom, limits.processes, True)
    # Without one, what can hold memory is address space (per process, times the process
    # cap) and the tmpfs folders; the seccomp filter refuses memfd and System V shared memory.
    processes = limits.processes_without_memory_cgroup
    return MemoryPlan((limits.memory_mb - limits.scratch_mb) // processes, processes, False)


def bwrap_executable() -> str:
    return os.environ.get("AUTOGRADER_BWRAP") or shutil.which("bwrap") or "/usr/bin/bwrap"


@dataclass(frozen=True)
class Layout:
    """The host files the sandbox needs (where they are on this machine)."""

    interpreter: str
    stdlib: str
    hidden_in_stdlib: tuple[str, ...]  # folders of packages installed into the interpreter
    libpython: tuple[str, ...]  # a shared libpython outside the system's library folders
    system_libs: tuple[str, ...]
    numpy_dirs: tuple[str, ...]
    agent_files: tuple[str, ...]  # runner.py, protocol.py
    ipython_files: tuple[str, ...]  # IPython's transformer: standard library only
    setpriv: str | None  # to drop root inside the sandbox


def _ipython_transformer_files() -> tuple[str, ...]:
    """IPython's input transformer and the one helper module it imports, found without
    importing IPython (slow, and the judge itself no longer parses student code)."""
    spec = importlib.util.find_spec("IPython")
    if spec is None or not spec.submodule_search_locations:
        raise SandboxUnavailable("IPython is not installed (pip install -r requirements.txt)")
    package = Path(spec.submodule_search_locations[0])
    return (
        str(package / "core" / "inputtransformer2.py"),
        str(package / "utils" / "tokenutil.py"),
    )


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
    system_libs = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu")
    # Third-party packages installed into the interpreter itself (pyenv, system Python) stay
    # out of sight: only numpy is bound, under SITE_DIR.
    hidden = tuple(n for n in ("site-packages", "dist-packages") if os.path.isdir(f"{stdlib}/{n}"))
    numpy_dir = Path(np.__file__).resolve().parent
    numpy_dirs = [str(numpy_dir)] + [str(p) for p in numpy_dir.parent.glob("numpy.libs")]
    agent = Path(__file__).resolve().parent
    return Layout(
        interpreter=interpreter,
        stdlib=stdlib,
        hidden_in_stdlib=hidden,
        libpython=tuple(libpython),
        system_libs=tuple(p for p in system_libs if os.path.isdir(p)),
        numpy_dirs=tuple(numpy_dirs),
        agent_files=(str(agent / "runner.py"), str(agent / "protocol.py")),
        ipython_files=_ipython_transformer_files(),
        setpriv=shutil.which("setpriv"),
    )


# How a path of the policy table appears in the sandbox.
READ_ONLY = "read-only bind"  # third column: the host path shown there
EMPTY = "empty, covers what is below"
SCRATCH = "private writable tmpfs"  # third column: its size in bytes
DEVICES = "minimal /dev (null, zero, full, random, urandom, tty, shm)"
SYMLINK = "symlink"  # third column: the link's target


def filesystem_policy(layout: Layout, limits: Limits) -> list[tuple[str, str, str | None]]:
    """Everything that exists in the sandbox, as (path inside, mode, host source or detail).

    Nothing else is there: no /proc, /sys, /etc, home or course folder. Host files appear
    under sandbox paths only, so that nothing a submission can print (sys.executable,
    sys.path, a module's __file__, a traceback) names where the host keeps them."""
    stdlib = f"{PYTHON_DIR}/lib/{Path(layout.stdlib).name}"
    policy = [
        (f"{PYTHON_DIR}/bin/python3", READ_ONLY, layout.interpreter),
        (stdlib, READ_ONLY, layout.stdlib),
        *((f"{stdlib}/{name}", EMPTY, None) for name in layout.hidden_in_stdlib),
        *((f"{PYTHON_DIR}/lib/{Path(p).name}", READ_ONLY, p) for p in layout.libpython),
        *((path, READ_ONLY, path) for path in layout.system_libs),
        ("/lib", SYMLINK, "usr/lib"),  # the ELF loader's and libc's standard paths
        ("/lib64", SYMLINK, "usr/lib64"),
        *((f"{SITE_DIR}/{Path(p).name}", READ_ONLY, p) for p in layout.numpy_dirs),
        *((f"{AGENT_DIR}/{Path(p).name}", READ_ONLY, p) for p in layout.agent_files),
        *((f"{IPYTHON_DIR}/{Path(p).name}", READ_ONLY, p) for p in layout.ipython_files),
        ("/dev", DEVICES, None),
        ("/dev/shm", SCRATCH, str(limits.shm_mb << 20)),
        ("/tmp", SCRATCH, str(limits.tmp_mb << 20)),
    ]
    if os.geteuid() == 0 and layout.setpriv:
        policy.append(("/usr/bin/setpriv", READ_ONLY, layout.setpriv))
    return policy


def _parents(path: str) -> list[str]:
    parts = Path(path).parent.parts
    return [str(Path(*parts[: i + 1])) for i in range(1, len(parts))]


def mount_arguments(policy: list[tuple[str, str, str | None]]) -> list[str]:
    """bwrap arguments for the policy table, in its order (an EMPTY row covers a bind above)."""
    binds = [inside for inside, mode, _ in policy if mode == READ_ONLY]
    destinations = {inside for inside, _, _ in policy}
    # bwrap would create missing parents as 0700, unreadable once root is dropped.
    parents = sorted({p for inside, _, _ in policy for p in _parents(inside)} - destinations)
    args = []
    for parent in parents:
        if not any(parent.startswith(bind + "/") for bind in binds):
            args += ["--perms", "0755", "--dir", parent]
    for inside, mode, detail in policy:
        if mode == READ_ONLY:
            args += ["--ro-bind", detail, inside]
        elif mode == EMPTY:
            args += ["--tmpfs", inside]
        elif mode == SCRATCH:
            args += ["--perms", "01777", "--size", detail, "--tmpfs", inside]
        elif mode == DEVICES:
            args += ["--dev", inside]
        elif mode == SYMLINK:
            args += ["--symlink", detail, inside]
        else:
            raise ValueError(f"unknown sandbox path mode {mode!r}")
    return args


def sandbox_environment(layout: Layout) -> dict[str, str]:
    """The sandbox's whole environment (bubblewrap clears the judge's)."""
    env = {
        "HOME": "/tmp",
        "PATH": f"{PYTHON_DIR}/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if layout.libpython:  # its RUNPATH names the host folder, which the sandbox does not have
        env["LD_LIBRARY_PATH"] = f"{PYTHON_DIR}/lib"
    return env


def bwrap_command(
    layout: Layout, slot: int, limits: Limits, plan: MemoryPlan, response_fd: int, seccomp_fd
) -> list[str]:
    """prlimit sets the per-process limits, bwrap builds the sandbox, setpriv drops root."""
    as_root = os.geteuid() == 0
    args = [bwrap_executable(), "--die-with-parent", "--new-session", "--clearenv"]
    args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--hostname", "sandbox"]
    if not as_root:
        args += ["--unshare-user"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += mount_arguments(filesystem_policy(layout, limits))
    args += ["--chdir", "/tmp"]
    for key, value in sandbox_environment(layout).items():
        args += ["--setenv", key, value]
    # Without a uid of its own the sandbox shares the judge's uid, and bwrap's init counts
    # against the runner's process limit (in the sandbox's user namespace).
    processes = plan.processes + (0 if as_root else 1)
    python = [f"{PYTHON_DIR}/bin/python3", "-I", "-S", "-B", f"{AGENT_DIR}/runner.py"]
    python += [str(response_fd), SITE_DIR, IPYTHON_DIR, str(processes)]
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
        f"--as={plan.address_space_mb << 20}",
        f"--cpu={cpu}",
        f"--fsize={limits.file_mb << 20}",
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


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.Signals._value2member_map_:
        return f"killed by {signal.Signals(code - 128).name}"
    return f"exit code {code}"


@functools.cache
def seccomp_program() -> bytes | None:
    """The compiled filter, or None on a machine it has no syscall table for."""
    try:
        return seccomp.filter_program()
    except seccomp.UnsupportedArchitecture:
        return None


def _readable_fd(data: bytes) -> int:
    """A pipe's read end already holding ``data`` (bwrap reads the filter from it)."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)  # a few hundred bytes: well within a pipe's buffer
    finally:
        os.close(write_end)
    return read_end


class Sandbox:
    """One sandboxed runner process. Always use as a context manager: exit kills it all."""

    def __init__(self, layout: Layout, slot: int, limits: Limits, stderr=subprocess.DEVNULL):
        self.uid = FIRST_SANDBOX_UID + slot if os.geteuid() == 0 else None
        self.limits = limits
        self.cgroups = cgroups_for(slot, limits)
        self.plan = memory_plan(limits, self.cgroups)
        self.oom_kills_before = self.cgroups.oom_kills()
        program = seccomp_program()
        filter_fd = _readable_fd(program) if program is not None else None
        read_end, write_end = os.pipe()
        command = bwrap_command(layout, slot, limits, self.plan, write_end, filter_fd)
        try:
            self.process = subprocess.Popen(
                [*self.cgroups.join_command(), *command],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(write_end,) if filter_fd is None else (write_end, filter_fd),
                start_new_session=True,
                env={},  # nothing of the judge's environment, not even in bwrap's own
            )
        finally:
            os.close(write_end)
            if filter_fd is not None:
                os.close(filter_fd)
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
        if self.cgroups.oom_kills() > self.oom_kills_before:
            return (
                f"{describe_exit(code)}: out of memory, the submission may use "
                f"{self.limits.memory_mb} MB in all"
            )
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


@dataclass(frozen=True)
class Protections:
    """Which protections hold on this machine, for this user (printed once per run)."""

    as_root: bool
    cgroups: SlotCgroups
    plan: MemoryPlan
    seccomp: bool
    limits: Limits

    def describe(self) -> list[str]:
        bounds, limits = self.cgroups.bounds, self.limits
        how = "as root" if self.as_root else "in an unprivileged user namespace (not root)"
        lines = [
            f"isolation: bubblewrap {how}: no network, no /proc, only Python and numpy "
            "(read-only), a private /tmp, its own pid/IPC/UTS namespaces; no process outlives "
            "its sandbox",
            "uid: one per slot (61000 + slot)"
            if self.as_root
            else "uid: the grader's own (no uid switch without root)",
            f"memory: {self.plan.describe(limits)}",
            f"processes: {limits.processes} per sandbox (pids cgroup)"
            if "pids" in bounds
            else f"processes: {self.plan.processes} per sandbox (RLIMIT_NPROC)",
            "CPU: one core per slot (cpu cgroup)"
            if "cpu" in bounds
            else "CPU: not capped per slot (no writable cpu cgroup); the time limits still hold",
        ]
        if self.seccomp:
            refused = len(seccomp.REFUSED_SYSCALLS)
            lines.append(
                f"system calls: a seccomp filter refuses {refused} (keyrings, namespaces, "
                "mounts, ptrace, bpf, io_uring, ...)"
            )
        else:
            lines.append(
                "system calls: no seccomp filter (no syscall table for this machine), so "
                "kernel keyrings are shared between sandboxes of one uid"
            )
        return lines


USER_NAMESPACE_HINT = (
    "as an ordinary user the sandbox needs unprivileged user namespaces: enable them "
    "(Debian: sysctl kernel.unprivileged_userns_clone=1; any distribution: "
    "user.max_user_namespaces > 0; Ubuntu 23.10 and later: sysctl "
    "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), or "
    "grade as root"
)


def _bwrap_said(log) -> str:
    log.seek(0)
    text = log.read(2000).decode(errors="replace").strip()
    return f" (bwrap: {text.splitlines()[-1].removeprefix('bwrap: ')})" if text else ""


def check_sandbox(layout: Layout, limits: Limits) -> Protections:
    """Start one sandbox and talk to it; refuse to grade if that does not work. Returns
    which protections hold."""
    executable = bwrap_executable()
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        raise SandboxUnavailable(
            f"bubblewrap not found at {executable} (apt-get install bubblewrap)"
        )
    as_root = os.geteuid() == 0
    with tempfile.TemporaryFile() as log:
        try:
            with lease_slot() as slot, Sandbox(layout, slot, limits, stderr=log) as box:
                header, _ = box.receive(time.monotonic() + 30)
                if header.get("event") != "ready":
                    raise SandboxUnavailable(f"unexpected first message {header!r}")
                probe = "import importlib.util as u\nassert u.find_spec('torch') is None"
                box.send({"op": "run_cells", "cells": [{"index": 0, "source": probe}]})
                events = [box.receive(time.monotonic() + 30)[0] for _ in range(3)]
                if events[1].get("error"):
                    raise SandboxUnavailable(f"sandbox self-check failed: {events[1]['error']}")
                protections = Protections(
                    as_root, box.cgroups, box.plan, seccomp_program() is not None, limits
                )
        except (SandboxGone, SandboxTimeout, OSError, NoFreeSlot) as exc:
            hint = "" if as_root else f"; {USER_NAMESPACE_HINT}"
            raise SandboxUnavailable(
                f"cannot start the bubblewrap sandbox with {executable}: {exc}"
                f"{_bwrap_said(log)}{hint}; refusing to grade without it"
            ) from exc
    return protections
