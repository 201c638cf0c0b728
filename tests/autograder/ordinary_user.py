"""An ordinary user to grade as, the way an instructor on a JupyterHub does: no root, no
writable cgroups, no other uid to switch to, a venv of its own.

The tests run as root (CI does), create the user once (``useradd``) and give it a workspace
under /tmp: a venv built from the system's /usr/bin/python3.11 (the project venv's Python may
live under root's 0700 home) that finds the project's installed packages through a ``.pth``
file (the folders above them made passable while the test runs), a copy of the ``autograder``
package, and folders it owns. Every process the user's command starts is put in a cgroup of
the test's own, so the test can see whether any outlived the command, without counting another
test run's processes.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sysconfig
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grading_helpers import LIMITS, REPO

from testkit.paths import traversable

USER = "autograder-ci"
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def ensure_user() -> pwd.struct_passwd:
    """The test user, created if missing (another test run may be creating it right now)."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(USER)
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--shell", "/usr/sbin/nologin", USER],
        capture_output=True,
        check=False,
    )
    return pwd.getpwnam(USER)  # KeyError here: useradd really failed


@dataclass(frozen=True)
class Workspace:
    root: Path  # root-owned, 0755; holds the venv and the package copy
    user: pwd.struct_passwd
    home: Path
    work: Path  # the user's, for course, submissions and results
    python: Path
    lib: Path  # holds the copy of the autograder package

    def own(self, *paths: Path) -> None:
        """Hand files the test made (as root) over to the user, recursively."""
        for path in paths:
            for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
                os.lchown(item, self.user.pw_uid, self.user.pw_gid)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "PATH": f"{self.python.parent}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.root / "tmp"),
            "PYTHONPATH": str(self.lib),
            **LIMITS,
        }
        env.update(extra)
        return env

    def command(self, argv: list[str], tracking: Path | None = None) -> list[str]:
        """``argv`` run as the user (inside ``tracking``'s cgroup, if given)."""
        uid, gid = str(self.user.pw_uid), str(self.user.pw_gid)
        as_user = ["setpriv", "--reuid", uid, "--regid", gid, "--clear-groups", "--", *argv]
        if tracking is None:
            return as_user
        procs = str(tracking / "cgroup.procs")
        return ["sh", "-c", 'echo 0 > "$1" && shift && exec "$@"', "sh", procs, *as_user]


def _thin_venv(folder: Path) -> Path:
    """A venv of the system Python whose ``.pth`` adds the project's site-packages (and runs
    their own ``.pth`` files): the project's packages without a second install."""
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(folder)], check=True)
    packages = sysconfig.get_paths()["purelib"]
    site = folder / "lib" / "python3.11" / "site-packages"
    (site / "project-packages.pth").write_text(f"import site; site.addsitedir({packages!r})\n")
    return folder / "bin" / "python"


@contextlib.contextmanager
def workspace() -> Iterator[Workspace]:
    user = ensure_user()
    root = Path(tempfile.mkdtemp(prefix="autograder-user-"))
    try:
        with traversable(Path(sysconfig.get_paths()["purelib"]), REPO):
            root.chmod(0o755)
            home, tmp, lib, work = root / "home", root / "tmp", root / "lib", root / "work"
            for folder in (home, tmp, lib, work):
                folder.mkdir()
            home.chmod(0o700)
            shutil.copytree(REPO / "autograder", lib / "autograder",
                            ignore=shutil.ignore_patterns("__pycache__"))
            python = _thin_venv(root / "venv")
            space = Workspace(root, user, home, work, python, lib)
            space.own(home, tmp, work)
            yield space
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def tracking_cgroup() -> Iterator[Path | None]:
    """A fresh cgroup (pids controller on v1, any group on v2) to count a command's
    processes in; None where the test may not make one."""
    parent = CGROUP_ROOT if (CGROUP_ROOT / "cgroup.controllers").exists() else CGROUP_ROOT / "pids"
    group = parent / f"autograder-test-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
    except OSError:
        yield None
        return
    try:
        yield group
    finally:
        with contextlib.suppress(OSError):
            group.rmdir()


def members(group: Path) -> list[int]:
    return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
