"""Sandbox slots that no two sandboxes on one machine hold at the same time.

A slot fixes what a sandbox shares with nothing else: its uid (``FIRST_SANDBOX_UID + slot``,
when the grader runs as root) and its cgroups (one core, the memory budget, the process cap).
Two grading runs on one machine (two instructors, a rerun beside a running batch, two Dask
workers) must never share either: a shared uid would put one run's processes under the
other's process-count limit and make its teardown wait for them, and a shared cgroup would
halve both runs' CPU and memory.

A slot is held by an exclusive ``flock`` on a file of its own in a machine-wide folder. The
kernel drops the lock when its holder dies, however it dies, so a killed run never leaks a slot
and there is no stale state to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Sandbox uids run from 61000 up; 4000 slots stay below 65534 ("nobody").
MAX_SLOTS = 4000


class NoFreeSlot(RuntimeError):
    """Every slot on this machine is held by a running sandbox."""


def slot_folder() -> Path:
    """One folder per effective user: root's slots must be machine-wide (they pick uids and
    cgroups), an ordinary user's only need to be unique among that user's runs."""
    override = os.environ.get("AUTOGRADER_SLOT_DIR")
    if override:
        return Path(override)
    euid = os.geteuid()
    if euid == 0 and os.path.isdir("/run/lock") and os.access("/run/lock", os.W_OK):
        return Path("/run/lock/autograder-slots")
    return Path(tempfile.gettempdir()) / f"autograder-slots-{euid}"


def _private_folder(folder: Path) -> Path:
    """Create ``folder`` (mode 0700) or accept it only if it is ours and not a symlink, so
    another user cannot pre-create it and hold or spy on our locks."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700, parents=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise NoFreeSlot(f"{folder} is not a folder owned by this user; set AUTOGRADER_SLOT_DIR")
    return folder


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def lease_slot() -> Iterator[int]:
    """The lowest slot nobody on this machine holds, held until the ``with`` block ends."""
    folder = _private_folder(slot_folder())
    for slot in range(MAX_SLOTS):
        fd = _try_lock(folder / f"slot-{slot}.lock")
        if fd is None:
            continue
        try:
            yield slot
        finally:
            os.close(fd)  # closing the only descriptor releases the lock
        return
    raise NoFreeSlot(f"all {MAX_SLOTS} sandbox slots in {folder} are in use")


def is_held(slot: int) -> bool:
    """Whether some process holds ``slot`` right now (for tests and diagnostics)."""
    folder = slot_folder()
    path = folder / f"slot-{slot}.lock"
    if not path.exists():
        return False
    fd = _try_lock(path)
    if fd is None:
        return True
    os.close(fd)
    return False
