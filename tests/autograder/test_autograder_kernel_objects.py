"""Kernel objects that no namespace isolates must not carry anything from one sandbox to the
next: a key added to the user keyring (shared by every sandbox of a slot's uid) would let a
later submission with no code of its own read an earlier one's answers. The seccomp filter
refuses the keyring calls (and others Docker's default profile refuses); threads and
processes still work, and the filter's syscall numbers are the kernel's own."""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

import pytest

import autograder.sandbox as sandbox_module
from autograder.sandbox import Limits, Sandbox, discover_layout
from autograder.seccomp import ARCHITECTURES, CLONE, CLONE3, REFUSED_SYSCALLS, filter_program
from autograder.slots import lease_slot

HEADERS = {  # where Debian's linux-libc-dev keeps each architecture's syscall numbers
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}

KEY = b"autograder-test-answers"
SYSCALLS = (
    "import ctypes, os\n"
    "_libc = ctypes.CDLL(None, use_errno=True)\n"
    "def _call(number, *args):\n"
    "    result = _libc.syscall(number, *args)\n"
    "    if result == -1:\n"
    "        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))\n"
    "    return result\n"
)


def _numbers(header: Path) -> dict[str, int]:
    found = re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", header.read_text())
    return {name: int(number) for name, number in found}


@pytest.mark.parametrize("machine", sorted(ARCHITECTURES))
def test_the_filters_syscall_numbers_are_the_kernels(machine):
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} not installed (linux-libc-dev)")
    column = ARCHITECTURES[machine][0]
    kernel = _numbers(header)
    table = {**REFUSED_SYSCALLS, "clone": CLONE, "clone3": CLONE3}
    for name, numbers in table.items():
        assert numbers[column] == kernel.get(name), f"{name} on {machine}"
    assert len(filter_program(machine)) % 8 == 0  # whole struct sock_filter instructions


def _run(slot: int, code: str, limits: Limits) -> dict:
    with Sandbox(discover_layout(), slot, limits) as box:
        box.receive(time.monotonic() + 60)
        box.send({"op": "run_cells", "cells": [{"index": 0, "source": code}]})
        return [box.receive(time.monotonic() + 60)[0] for _ in range(3)][1]


def _add_key() -> str:
    return SYSCALLS + (
        f"_call({REFUSED_SYSCALLS['add_key'][_column()]}, b'user', {KEY!r}, b'the answers', 11,"
        " -4)\n"
    )


def _read_key() -> str:
    number = REFUSED_SYSCALLS["request_key"][_column()]
    keyctl = REFUSED_SYSCALLS["keyctl"][_column()]
    return SYSCALLS + (
        f"_key = _call({number}, b'user', {KEY!r}, None, 0)\n"
        "_buffer = ctypes.create_string_buffer(100)\n"
        f"_size = _call({keyctl}, 11, _key, _buffer, 100)  # KEYCTL_READ\n"
        "raise RuntimeError('read back: ' + _buffer.raw[:_size].decode())\n"
    )


def _clear_keys() -> str:
    return SYSCALLS + f"_call({REFUSED_SYSCALLS['keyctl'][_column()]}, 7, -4)  # KEYCTL_CLEAR\n"


def _column() -> int:
    return ARCHITECTURES[platform.machine()][0]


@pytest.mark.slow
def test_a_key_one_sandbox_adds_is_not_there_for_the_next():
    limits = Limits()
    with lease_slot() as slot:
        added = _run(slot, _add_key(), limits)
        read = _run(slot, _read_key(), limits)
    assert "Operation not permitted" in added["error"], added
    assert "Operation not permitted" in read["error"], read


@pytest.mark.slow
def test_without_the_filter_the_keyring_carries_answers_across(monkeypatch):
    """The control: what the filter prevents does happen without it (so the test above can
    fail). The slot's keyring is cleared again afterwards."""
    monkeypatch.setattr(sandbox_module, "seccomp_program", lambda: None)
    limits = Limits()
    with lease_slot() as slot:
        try:
            added = _run(slot, _add_key(), limits)
            read = _run(slot, _read_key(), limits)
        finally:
            _run(slot, _clear_keys(), limits)
    assert added["error"] is None, added
    assert "read back: the answers" in read["error"], read


@pytest.mark.slow
def test_threads_and_processes_still_work_under_the_filter():
    code = (
        "import os, subprocess, sys, threading\n"
        "_seen = []\n"
        "_thread = threading.Thread(target=lambda: _seen.append('thread'))\n"
        "_thread.start()\n_thread.join()\n"
        "_child = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True)\n"
        "_pid = os.fork()\n"
        "if _pid == 0:\n    os._exit(3)\n"
        "_code = os.waitstatus_to_exitcode(os.waitpid(_pid, 0)[1])\n"
        "raise RuntimeError(f'{_seen} {_child.stdout.strip()!r} {_code}')\n"
    )
    with lease_slot() as slot:
        done = _run(slot, code, Limits())
    assert "['thread'] b'42' 3" in done["error"], done
