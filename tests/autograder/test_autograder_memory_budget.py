"""The memory limit holds for a whole submission, not per process: a submission that forks
children which each hold memory, and fills /dev/shm and memfds besides, holds no more than its
budget at once. As root a memory cgroup bounds the sum (the kernel's OOM killer ends the
children that exceed it); as an ordinary user the process cap times the address-space limit
does, and the seccomp filter refuses memfds. The cell touches more memory than the budget, so
it gets a roomier time limit than the corpus's four seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from autograder_corpus import memory_across_processes
from grading_helpers import grader_env
from ordinary_user import SYSTEM_PYTHON, workspace

pytestmark = pytest.mark.slow

BUDGET_MB = 640
CELL_SECONDS = 120.0  # a wall-clock bound only: the cell needs about a second of CPU

# Runs one cell in a sandbox and prints the runner's verdict on it (as root, or as the user).
RUN_ONE_CELL = """
import json, sys, time
from autograder.sandbox import Limits, Sandbox, discover_layout
from autograder.slots import lease_slot
limits = Limits(memory_mb=int(sys.argv[1]))
with lease_slot() as slot, Sandbox(discover_layout(), slot, limits) as box:
    box.receive(time.monotonic() + 60)
    box.send({"op": "run_cells", "cells": [{"index": 0, "source": sys.stdin.read()}]})
    events = [box.receive(time.monotonic() + float(sys.argv[2]))[0] for _ in range(3)]
    print(json.dumps({"done": events[1], "by_cgroup": box.plan.by_cgroup}))
"""


def _verdict(command: list[str], env: dict | None = None, cwd=None) -> dict:
    run = subprocess.run(
        [*command, "-c", RUN_ONE_CELL, str(BUDGET_MB), str(CELL_SECONDS)],
        input=memory_across_processes(BUDGET_MB), capture_output=True, text=True,
        env=env, cwd=cwd,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_memory_across_processes_stays_within_the_budget():
    result = _verdict([sys.executable], env=grader_env())
    assert "within the budget" in result["done"]["error"], result


def test_memory_across_processes_stays_within_the_budget_as_an_ordinary_user():
    if os.geteuid() != 0 or not SYSTEM_PYTHON.exists():
        pytest.skip("needs root to create the ordinary user, and /usr/bin/python3.11")
    with workspace() as space:
        argv = space.command([str(space.python)])
        result = _verdict(argv, env=space.env(), cwd=space.work)
    assert not result["by_cgroup"]
    assert "within the budget" in result["done"]["error"], result
