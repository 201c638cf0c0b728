"""binder/postBuild leaves students nbgrader's Validate button and nothing of the instructor's.

The script runs for real against a throwaway Jupyter config dir (JUPYTER_CONFIG_DIR, which is
what ~/.jupyter is on Binder), then a real Jupyter server started with that config, on
127.0.0.1, must load only nbgrader's validate extension, and JupyterLab's page config must
disable the instructor plugins.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from release_helpers import REPO

from testkit.processes import stop

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 90
LOADED = re.compile(r"(nbgrader\.server_extensions\.\w+) \| extension was successfully loaded")
STUDENT_EXTENSIONS = {"nbgrader.server_extensions.validate_assignment"}
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def student_jupyter(tmp_path_factory):
    """(server log, /lab page) of a Jupyter server configured by binder/postBuild."""
    config_dir = tmp_path_factory.mktemp("jupyter_config")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", str(REPO / "binder" / "postBuild")], check=True, env=env,
                   capture_output=True)
    port, token = free_port(), "release-test"
    log_path = config_dir / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(BIN / "jupyter"), "server", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}",
             f"--ServerApp.token={token}", f"--ServerApp.root_dir={config_dir}"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        lab = wait_for_page(f"http://127.0.0.1:{port}/lab?token={token}", server)
        yield log_path.read_text(), lab
    finally:
        stop(server)


def wait_for_page(url: str, server: subprocess.Popen) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Jupyter server exited"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def page_config(lab_page: str) -> dict:
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      lab_page, re.DOTALL)
    assert match, "no page config in /lab"
    return json.loads(match.group(1))


def test_only_the_validate_server_extension_is_loaded(student_jupyter):
    log, _ = student_jupyter
    assert set(LOADED.findall(log)) == STUDENT_EXTENSIONS, log[-3000:]


def test_instructor_lab_plugins_are_disabled(student_jupyter):
    _, lab = student_jupyter
    disabled = set(page_config(lab).get("disabledExtensions", []))
    assert INSTRUCTOR_PLUGINS <= disabled, disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
