"""One CPU core at most per sandbox, so a submission that spins cannot slow its neighbours.

Wall-clock limits per cell are only fair if every sandbox gets its share of the machine. A
submission can start many spinning processes, each in a session of its own, and the kernel's
per-session scheduling would then hand it most of the CPU while another student's correct but
slow cell times out. Each worker slot therefore gets a CPU cgroup capped at one core, and its
sandbox is moved into it before bwrap starts, so every process the student starts stays in it.

cgroup v2 (``cpu.max``) and v1 (``cpu.cfs_quota_us``) are both handled. Where neither can be
written (not root, or no cpu controller), grading goes on without the cap.
"""

from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 100_000
V2_ROOT = Path("/sys/fs/cgroup")
V1_CPU = Path("/sys/fs/cgroup/cpu")


def _v2_slot(slot: int) -> Path | None:
    if "cpu" not in (V2_ROOT / "cgroup.controllers").read_text().split():
        return None
    parent = V2_ROOT / "autograder"
    parent.mkdir(exist_ok=True)
    (V2_ROOT / "cgroup.subtree_control").write_text("+cpu")
    (parent / "cgroup.subtree_control").write_text("+cpu")
    group = parent / f"slot{slot}"
    group.mkdir(exist_ok=True)
    (group / "cpu.max").write_text(f"{PERIOD_US} {PERIOD_US}")
    return group / "cgroup.procs"


def _v1_slot(slot: int) -> Path:
    group = V1_CPU / "autograder" / f"slot{slot}"
    group.mkdir(parents=True, exist_ok=True)
    (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (group / "cpu.cfs_quota_us").write_text(str(PERIOD_US))
    return group / "cgroup.procs"


def slot_cgroup(slot: int) -> Path | None:
    """The ``cgroup.procs`` file of the slot's one-core cgroup, or None where there is none."""
    try:
        if (V2_ROOT / "cgroup.controllers").exists():
            return _v2_slot(slot)
        if V1_CPU.is_dir():
            return _v1_slot(slot)
    except OSError:
        return None
    return None


def join_in_child(procs: Path | None):
    """A ``preexec_fn`` that moves the new process (and so all it starts) into ``procs``."""

    def join() -> None:
        if procs is None:
            return
        try:
            with open(procs, "w") as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass  # no cap is better than no grading; the wall-clock limits still hold

    return join
