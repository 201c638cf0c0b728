"""Two grading runs on one machine never hold the same sandbox slot (uid and cgroups), and
a run that dies, however it dies, gives its slots back."""

from __future__ import annotations

import signal
import subprocess
import sys

from grading_helpers import wait_until

from autograder.slots import is_held, lease_slot

HOLDER = """
import sys, time
from autograder.slots import lease_slot
with lease_slot() as slot:
    print(slot, flush=True)
    time.sleep(600)
"""


def test_slots_held_at_once_are_distinct_within_and_across_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SLOT_DIR", str(tmp_path / "slots"))
    other = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    try:
        theirs = int(other.stdout.readline())
        assert is_held(theirs)
        with lease_slot() as first, lease_slot() as second:
            assert len({theirs, first, second}) == 3
        assert not is_held(first) and not is_held(second)
        other.send_signal(signal.SIGKILL)
        other.wait()
        # The kernel drops a dead holder's lock: the slot is free again, nothing to clean up.
        wait_until(lambda: not is_held(theirs), 10, "the killed holder's slot released")
        with lease_slot() as again:
            assert again == theirs
    finally:
        other.kill()
        other.wait()
