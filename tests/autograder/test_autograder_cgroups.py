"""Every sandbox runs in its slot's cgroups: one core (a spinning submission cannot starve the
student graded beside it), and one memory budget and process cap for all the submission's
processes together (per-process limits let nine processes hold nine times the limit)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autograder import cgroups
from autograder.sandbox import (
    SANDBOX_OWN_PROCESSES,
    Limits,
    Sandbox,
    cgroups_for,
    discover_layout,
)
from autograder.slots import lease_slot

# controller: (the files that hold its bound, v2 first, then v1), and the value expected
# for Limits(memory_mb=768, processes=40).
BOUNDS = {
    "cpu": (("cpu.max", "cpu.cfs_quota_us"), "100000"),
    "memory": (("memory.max", "memory.limit_in_bytes"), str(768 << 20)),
    "pids": (("pids.max",), str(40 + SANDBOX_OWN_PROCESSES)),
}


def _bound(group: Path, names: tuple[str, ...]) -> str:
    return next((group / n).read_text().split()[0] for n in names if (group / n).exists())


@pytest.mark.slow
def test_a_sandbox_and_everything_in_it_is_in_its_slots_cgroups():
    limits = Limits(memory_mb=768, processes=40)
    with lease_slot() as slot:
        cgroups = cgroups_for(slot, limits)
        if not cgroups.bounds:
            pytest.skip("no writable cgroup on this machine (not root, or no controllers)")
        for controller in cgroups.bounds:
            names, expected = BOUNDS[controller]
            assert _bound(cgroups.group(controller), names) == expected, controller
        with Sandbox(discover_layout(), slot, limits) as sandbox:
            ready, _ = sandbox.receive(time.monotonic() + 30)  # the runner inside is up
            assert ready.get("event") == "ready"
            assert sandbox.plan.by_cgroup == ("memory" in cgroups.bounds)
            children = Path(f"/proc/{sandbox.process.pid}/task/{sandbox.process.pid}/children")
            started = [int(child) for child in children.read_text().split()]
            assert started, "bwrap has started no process: nothing was checked"
            for group in cgroups.groups:
                members = {int(pid) for pid in (group / "cgroup.procs").read_text().split()}
                assert {sandbox.process.pid, *started} <= members, f"a process left {group}"


# The layouts this machine may not have, on a folder shaped like each: what is written where.
@pytest.mark.parametrize("version", [1, 2])
def test_each_cgroup_version_gets_its_bounds_written(tmp_path, monkeypatch, version):
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    if version == 2:
        (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        (tmp_path / "cgroup.subtree_control").write_text("")
    else:
        for controller in cgroups.CONTROLLERS:
            (tmp_path / controller).mkdir()
    slot = cgroups.slot_cgroups(3, 768 << 20, 42)
    assert (slot.version, slot.bounds) == (version, {"cpu", "memory", "pids"})
    for controller, (names, expected) in BOUNDS.items():
        group = slot.group(controller)
        assert group.name == "slot3" and (version == 2 or controller in group.parts)
        assert _bound(group, names) == expected, controller
    assert slot.join_command()[-len(slot.groups):] == [str(g / "cgroup.procs") for g in slot.groups]
    (slot.group("memory") / ("memory.events" if version == 2 else "memory.oom_control")).write_text(
        "oom 3\noom_kill 2\n"
    )
    assert slot.oom_kills() == 2


def test_no_writable_cgroup_means_no_bounds(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "ROOT", tmp_path / "absent")
    assert cgroups.slot_cgroups(0, 1 << 30, 64) == cgroups.SlotCgroups(0)
