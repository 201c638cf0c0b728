"""Fixtures for the launch and student-release tests: the release itself, the served site."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_helpers import REPO


@pytest.fixture(scope="session")
def student_release(built_site: Path, tmp_path_factory) -> Path:
    """The release as `make student-release` writes it, made from the session's built site."""
    out = tmp_path_factory.mktemp("release") / "student"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "student_release.py"),
         "--site", str(built_site), "--out", str(out)],
        check=True, cwd=REPO,
    )
    return out


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site served on 127.0.0.1 (a free port), for the browser tests."""
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
