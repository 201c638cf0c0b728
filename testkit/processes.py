"""Watching processes from outside, through /proc: which a process started, and which of them
still run. A process is named by its pid and its start time, so a reused pid is never
mistaken for one of them."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from the state on (field 3), or None once the process is gone. The
    command name before it is in parentheses and may hold spaces or parentheses itself."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> dict[int, str]:
    """The processes started by ``pid`` and their descendants, each with its start time."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            started[int(entry.name)] = fields[19]
    tree, todo = {}, list(children.get(pid, []))
    while todo:
        child = todo.pop()
        tree[child] = started[child]
        todo += children.get(child, [])
    return tree


def still_running(processes: dict[int, str]) -> list[int]:
    """Those of ``processes`` (from :func:`process_tree`) that have not ended (zombies have)."""
    alive = []
    for pid, start in processes.items():
        fields = _stat_fields(pid)
        if fields and fields[19] == start and fields[0] != "Z":
            alive.append(pid)
    return alive


def command_line(pid: int) -> str:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "(ended)"
    return " ".join(a.decode(errors="replace") for a in arguments if a)[:300]


def stop(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM, and SIGKILL if ``process`` has not ended ``seconds`` later: a server that
    ignores or hangs on SIGTERM must not outlive the test that started it."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
