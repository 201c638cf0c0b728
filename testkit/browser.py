"""Debian's chromium, driven by Playwright, over files served on 127.0.0.1; nothing else.

The one launcher of the project's browser tests (book, autograder, release) and of
benchmarks/slider_latency.py: one list of flags, never a downloaded browser.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    # Nothing the tests did not ask for leaves the machine (updates, sync, QUIC probes).
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]
LOCAL_HOST = "127.0.0.1"
# Schemes that never leave the browser (anywidget imports its ES module from a blob: URL).
IN_BROWSER_SCHEMES = {"data", "blob", "about"}


def launch_chromium(playwright):
    """Debian's chromium, from a started Playwright (``sync_playwright()``)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL (ends with /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in IN_BROWSER_SCHEMES or parts.hostname == LOCAL_HOST


def block_other_hosts(target, refused: list[str]) -> None:
    """Abort (and record in ``refused``) every request of ``target`` (a browser context or a
    page) that would leave 127.0.0.1, so tests stay offline."""

    def route(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    target.route("**/*", route)
