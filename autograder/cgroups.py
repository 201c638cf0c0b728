"""Per-slot resource cgroups: one core, a memory budget and a process cap for a whole submission.

Limits set with ``setrlimit`` hold per process: a submission that starts nine processes may
hold nine times the address-space limit, and many spinning processes in sessions of their own
take most of the CPU from the student graded beside them. Each worker slot therefore gets a
cgroup per controller, and its sandbox is moved into them before bubblewrap starts, so every
process the submission starts stays inside and is counted together:

- ``cpu``: one core per slot, so a neighbour's correct but slow cell does not time out;
- ``memory``: the submission's memory budget for all its processes together (no swap);
- ``pids``: the process cap, counted across the sandbox's processes whatever their uid.

cgroup v2 (one group holding every controller) and v1 (one group per controller) are both
handled. Where a controller cannot be written (not root, or not mounted), that bound is simply
absent and the sandbox falls back on per-process limits; :func:`slot_cgroups` says which
bounds hold, and the grade command prints them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

PERIOD_US = 100_000
ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("cpu", "memory", "pids")


@dataclass(frozen=True)
class SlotCgroups:
    """The groups a slot's sandbox joins; ``bounds`` is the set of controllers that hold."""

    version: int  # 2, 1, or 0 where no controller could be set up
    groups: tuple[Path, ...] = ()
    bounds: frozenset[str] = frozenset()

    def join_command(self) -> list[str]:
        """A prefix that moves the sandbox's first process into every group, then execs the
        rest of the command (writing 0 to ``cgroup.procs`` moves the writer). Unlike a
        ``preexec_fn`` it is safe beside the judge's threads and lets Popen use vfork."""
        if not self.groups:
            return []
        moves = " && ".join(f'echo 0 > "${i + 1}"' for i in range(len(self.groups)))
        procs = [str(group / "cgroup.procs") for group in self.groups]
        return ["/bin/sh", "-c", f'{moves} && shift {len(procs)} && exec "$@"', "sh", *procs]

    def group(self, controller: str) -> Path | None:
        """Where ``controller``'s settings for this slot are, if it bounds the slot."""
        if controller not in self.bounds:
            return None
        if self.version == 2:
            return self.groups[0]
        return next(g for g in self.groups if g.parts[len(ROOT.parts)] == controller)

    def oom_kills(self) -> int:
        """How many processes the kernel has killed in this slot for exceeding its memory."""
        for group in self.groups:
            for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
                with contextlib.suppress(OSError):
                    for line in (group / name).read_text().splitlines():
                        if line.startswith(key + " "):
                            return int(line.split()[1])
        return 0

    def members(self) -> set[int]:
        found: set[int] = set()
        for group in self.groups:
            with contextlib.suppress(OSError):
                found |= {int(pid) for pid in (group / "cgroup.procs").read_text().split()}
        return found


def _set_v2(group: Path, controller: str, memory_bytes: int, processes: int) -> None:
    if controller == "cpu":
        (group / "cpu.max").write_text(f"{PERIOD_US} {PERIOD_US}")
    elif controller == "memory":
        (group / "memory.max").write_text(str(memory_bytes))
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
    else:
        (group / "pids.max").write_text(str(processes))


def _set_v1(group: Path, controller: str, memory_bytes: int, processes: int) -> None:
    if controller == "cpu":
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(PERIOD_US))
    elif controller == "memory":
        swap = group / "memory.memsw.limit_in_bytes"
        if swap.exists():  # memory+swap may never be below memory: lift it, then set both
            swap.write_text("-1")
        (group / "memory.limit_in_bytes").write_text(str(memory_bytes))
        if swap.exists():
            swap.write_text(str(memory_bytes))
    else:
        (group / "pids.max").write_text(str(processes))


def _v2(slot: int, memory_bytes: int, processes: int) -> SlotCgroups:
    available = set((ROOT / "cgroup.controllers").read_text().split())
    parent = ROOT / "autograder"
    group = parent / f"slot{slot}"
    bounds = set()
    for controller in (c for c in CONTROLLERS if c in available):
        try:
            parent.mkdir(exist_ok=True)
            (ROOT / "cgroup.subtree_control").write_text(f"+{controller}")
            (parent / "cgroup.subtree_control").write_text(f"+{controller}")
            group.mkdir(exist_ok=True)
            _set_v2(group, controller, memory_bytes, processes)
            bounds.add(controller)
        except OSError:
            continue
    return SlotCgroups(2, (group,), frozenset(bounds)) if bounds else SlotCgroups(0)


def _v1(slot: int, memory_bytes: int, processes: int) -> SlotCgroups:
    groups, bounds = [], set()
    for controller in CONTROLLERS:
        if not (ROOT / controller).is_dir():
            continue
        group = ROOT / controller / "autograder" / f"slot{slot}"
        try:
            group.mkdir(parents=True, exist_ok=True)
            _set_v1(group, controller, memory_bytes, processes)
        except OSError:
            continue
        groups.append(group)
        bounds.add(controller)
    return SlotCgroups(1, tuple(groups), frozenset(bounds)) if groups else SlotCgroups(0)


def slot_cgroups(slot: int, memory_bytes: int, processes: int) -> SlotCgroups:
    """The slot's groups, created and set to these bounds; only what this user may write."""
    try:
        if (ROOT / "cgroup.controllers").exists():
            return _v2(slot, memory_bytes, processes)
        return _v1(slot, memory_bytes, processes)
    except OSError:
        return SlotCgroups(0)
