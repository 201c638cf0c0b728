"""The program that runs inside the sandbox: executes a student's cells, then answers calls.

It is copied into the sandbox next to ``protocol.py`` and started by the judge. It imports the
standard library and numpy only (torch is not even present in the sandbox). Nothing it sends
back is trusted: the judge re-checks every array and compares values itself, so student code
that tampers with this process can only spoil its own answers.

IPython syntax (magics, ``!cmd``) is turned into calls that are ignored here, by IPython's own
transformer: its cost grows faster than linearly with a cell's magics, so it runs here, within
the cell's time limit, rather than in the judge.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import io
import json
import os
import resource
import sys
import traceback
import types

# argv: the inherited pipe for answers, the folder holding numpy (and nothing else), the
# folder holding IPython's transformer files, and how many processes the sandbox may hold.
RESPONSE_FD = int(sys.argv[1])
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), sys.argv[2]]
IPYTHON_DIR = sys.argv[3]
# Set here, before any student code, rather than before bubblewrap starts: without root the
# count is per user namespace, and the judge's uid holds the judge's own processes too.
PROCESSES = min(int(sys.argv[4]), resource.getrlimit(resource.RLIMIT_NPROC)[1] & sys.maxsize)
resource.setrlimit(resource.RLIMIT_NPROC, (PROCESSES, PROCESSES))

import numpy as np  # noqa: E402
import protocol  # noqa: E402

REQUESTS = sys.stdin.buffer
MAX_CAPTURED_OUTPUT = 4000


class CappedOutput(io.TextIOBase):
    """Keeps the first few KB a cell prints and drops the rest, so output cannot flood."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text) -> int:
        text = str(text)
        if self.size < MAX_CAPTURED_OUTPUT:
            self.parts.append(text[: MAX_CAPTURED_OUTPUT - self.size])
        self.size += len(text)
        return len(text)

    def text(self) -> str:
        joined = "".join(self.parts)
        return joined + ("\n[... output truncated]" if self.size > MAX_CAPTURED_OUTPUT else "")


class IgnoredIPython:
    """Stands in for ``get_ipython()``: magics and shell escapes are dropped, not run."""

    def __init__(self) -> None:
        self.ignored: list[str] = []

    def run_line_magic(self, name, line, *args, **kwargs):
        self.ignored.append(f"%{name} {line}".strip())

    def run_cell_magic(self, name, line, body, *args, **kwargs):
        self.ignored.append(f"%%{name} {line}".strip())

    def system(self, command, *args, **kwargs):
        self.ignored.append(f"!{command}")

    def getoutput(self, command, *args, **kwargs):
        self.ignored.append(f"!{command}")
        return []


def _load(name: str, filename: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, os.path.join(IPYTHON_DIR, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def ipython_transformer():
    """IPython's TransformerManager, loaded from its two standard-library-only files, so a cell
    means here what it means in Jupyter. The package names it imports exist only while it
    loads: ``import IPython`` still fails for the student, as IPython is not installed here."""
    names = ("IPython", "IPython.utils", "IPython.utils.tokenutil")
    saved = {name: sys.modules.get(name) for name in names}
    package, utils = types.ModuleType(names[0]), types.ModuleType(names[1])
    package.__path__, utils.__path__ = [], []
    try:
        sys.modules.update({names[0]: package, names[1]: utils})
        utils.tokenutil = sys.modules[names[2]] = _load(names[2], "tokenutil.py")
        transformer = _load("_ipython_inputtransformer2", "inputtransformer2.py")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return transformer.TransformerManager()


def python_source(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) turned into calls this runner ignores, deliberately."""
    try:
        return ipython_transformer().transform_cell(source)
    except (MemoryError, RecursionError):
        raise  # the cell's own error: too big for the sandbox's limits
    except Exception:  # not IPython syntax either: compiling reports the SyntaxError
        return source


def as_python(source: str, parse):
    """``parse(source)``, or, for a cell that is not plain Python, ``parse`` of its IPython
    transform. IPython leaves plain Python as it is, so only cells with IPython syntax need the
    transformer, and a sandbox whose cells have none never loads it."""
    try:
        return parse(source)
    except SyntaxError:
        return parse(python_source(source))


def send(header: dict, arrays=()) -> None:
    data = protocol.encode(header, list(arrays))
    while data:
        written = os.write(RESPONSE_FD, data)
        data = data[written:]


def read_exact(n: int) -> bytes:
    data = REQUESTS.read(n)
    if data is None or len(data) != n:
        raise EOFError
    return data


def receive() -> tuple[dict, list]:
    header = json.loads(read_exact(protocol.frame_sizes(read_exact(4))))
    arrays = protocol.decode_arrays(header, read_exact(protocol.payload_size(header)))
    return header, arrays


def describe_exception(exc: BaseException) -> str:
    """'ValueError: ... (line 4)': enough for feedback without dumping the runner's frames."""
    try:
        lines = [
            f.lineno
            for f in traceback.extract_tb(exc.__traceback__)
            if f.filename.startswith("<cell")
        ]
        where = f" (cell line {lines[-1]})" if lines else ""
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    except BaseException:  # a student exception whose __str__ itself misbehaves
        return "an exception that could not be displayed"
    return (text[:600] + where) if text else type(exc).__name__


def run_statements(source: str, name: str, namespace: dict) -> list[str]:
    """Run a read-only instructor cell statement by statement: `import torch` may fail here by
    design, and that must not stop the cell's other lines (e.g. `import numpy as np`)."""
    errors = []
    for node in as_python(source, lambda text: ast.parse(text, name)).body:
        try:
            exec(compile(ast.Module([node], []), name, "exec"), namespace)
        except BaseException as exc:
            errors.append(describe_exception(exc))
    return errors


def run_cell(cell: dict, namespace: dict) -> dict:
    name = f"<cell {cell['index']}>"
    captured = CappedOutput()
    sys.stdout = sys.stderr = captured
    try:
        if cell.get("statementwise"):
            errors = run_statements(cell["source"], name, namespace)
            error = "; ".join(errors) or None
        else:
            exec(as_python(cell["source"], lambda text: compile(text, name, "exec")), namespace)
            error = None
    except BaseException as exc:
        error = describe_exception(exc)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return {"event": "cell_done", "index": cell["index"], "error": error, "output": captured.text()}


def as_plain_array(value) -> np.ndarray:
    """What the judge will see; anything that is not plain numbers is refused here already."""
    if isinstance(value, np.ndarray):
        array = np.array(value, copy=True)  # drops subclasses with clever methods
    else:
        array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError("not numeric data")
    if array.dtype.str not in protocol.ALLOWED_DTYPES:
        array = array.astype(np.float64)
    return array


def call(request: dict, arrays: list, namespace: dict) -> None:
    function = namespace.get(request["function"])
    if not callable(function):
        send({"event": "result", "ok": False, "missing": True})
        return
    args = protocol.unpack_value(request["args"], arrays)
    kwargs = protocol.unpack_value(request["kwargs"], arrays)
    sys.stdout = sys.stderr = CappedOutput()
    try:
        value = function(*args, **kwargs)
    except BaseException as exc:
        send({"event": "result", "ok": False, "error": describe_exception(exc)})
        return
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    try:
        result = as_plain_array(value)
    except BaseException:
        send({"event": "result", "ok": False, "returned": type(value).__name__})
        return
    send({"event": "result", "ok": True}, [result])


def main() -> None:
    ipython = IgnoredIPython()
    namespace = {
        "__name__": "__main__",
        "__builtins__": __builtins__,
        "get_ipython": lambda: ipython,
    }
    send({"event": "ready"})
    while True:
        try:
            request, arrays = receive()
        except EOFError:
            return
        if request["op"] == "run_cells":
            for cell in request["cells"]:
                send({"event": "cell_start", "index": cell["index"]})
                send(run_cell(cell, namespace))
            send({"event": "cells_done", "ignored_magics": ipython.ignored[:20]})
        elif request["op"] == "call":
            call(request, arrays, namespace)


if __name__ == "__main__":
    main()
