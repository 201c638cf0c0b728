"""Every sandbox runs in its slot's one-core CPU cgroup, so a spinning submission cannot
starve the student graded beside it (a per-cell wall-clock limit is only fair then)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autograder.cpu_share import slot_cgroup
from autograder.sandbox import Limits, Sandbox, discover_layout
from autograder.slots import lease_slot

pytestmark = pytest.mark.slow


def test_a_sandbox_and_everything_in_it_is_in_its_slots_one_core_cgroup():
    with lease_slot() as slot:
        check_slot_cgroup(slot)


def check_slot_cgroup(slot: int) -> None:
    procs = slot_cgroup(slot)
    if procs is None:
        pytest.skip("no writable CPU cgroup on this machine (not root, or no cpu controller)")
    v2 = (procs.parent / "cpu.max").exists()
    quota = procs.parent / ("cpu.max" if v2 else "cpu.cfs_quota_us")
    assert quota.read_text().split()[0] == "100000", "the slot is not capped at one core"
    with Sandbox(discover_layout(), slot, Limits.from_env()) as sandbox:
        ready, _ = sandbox.receive(time.monotonic() + 30)  # the runner inside is up
        assert ready.get("event") == "ready"
        members = {int(pid) for pid in procs.read_text().split()}
        assert sandbox.process.pid in members
        children = Path(f"/proc/{sandbox.process.pid}/task/{sandbox.process.pid}/children")
        started = [int(child) for child in children.read_text().split()]
        assert started, "bwrap has started no process: nothing was checked"
        for child in started:
            assert child in members, "a process the sandbox started left its cgroup"
